"""The operation queue on Redis Streams: wake-ups only, never the truth.

An operation's state lives in the store; a message here only says "look at operation X now".
Delivery is at least once, so consumers treat a message as a hint and re-read the operation.

    enqueue ──► XADD stream ──► XREADGROUP (consumer group) ──► worker ──► settle
    schedule ──► ZADD delayed (score = due time, ms, by the Redis clock)
    settle ──► [ZADD delayed] + XACK + XDEL, one script: one round trip per step
                   └── promote_due (Lua: move due members to the stream, atomically)
    a consumer dies ──► its unacked messages idle past the visibility timeout
                   └── reclaim: XAUTOCLAIM hands them to a live consumer

Redis losing its data (a FLUSHALL, a restart without persistence) loses every wake-up: a
read or ack that finds the group gone raises `QueueLost` (the worker recreates the group),
and `fingerprint` changes (a marker key gone, or a new server run id), which the leader
watches to re-send the active operations' wake-ups at once.

Due times use the Redis server's clock (`TIME` inside the scripts), so instances with
skewed clocks agree on when a delayed message is due. A delayed member is the operation id:
scheduling an operation again moves its one wake-up rather than adding a second.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from app.broker.errors import BrokerError, BrokerUnavailable
from app.broker.guard import guard

_SCHEDULE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now
"""

# Move up to ARGV[2] due members to the stream; return how many moved and the milliseconds
# until the next one is due (-1 when none is left).
_PROMOTE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], '*', ARGV[1], member)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if nxt[2] then wait = math.max(0, tonumber(nxt[2]) - now) end
return {#due, wait}
"""

# Settle a message: schedule its operation's next wake-up ARGV[4] ms from now (when not
# empty), then acknowledge and delete it. A missing group answers NOGROUP (`QueueLost`).
_SETTLE = """
if ARGV[4] ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
"""

_FIELD = "operation_id"


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: str
    operation_id: str


@dataclass(frozen=True, slots=True)
class QueueDepth:
    ready: int
    pending: int
    delayed: int


class OperationQueue:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str,
        group: str = "operation-workers",
    ) -> None:
        self._redis = redis
        self.stream = f"{prefix}:stream"
        self.delayed = f"{prefix}:delayed"
        self.marker = f"{prefix}:marker"
        # Set by a worker that met `QueueLost` (after recreating the group): the leader in
        # this process re-sends the wake-ups without waiting for its next look.
        self.lost_seen = asyncio.Event()
        self.group = group
        self._schedule = redis.register_script(_SCHEDULE)
        self._promote = redis.register_script(_PROMOTE)
        self._settle = redis.register_script(_SETTLE)
        self._reclaim_cursor = "0-0"

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise BrokerError(f"redis: {exc}") from exc
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc

    async def recreate_group(self) -> None:
        """After `QueueLost`: the group again, and the leader in this process told to
        re-send the active operations' wake-ups (`ReconciliationWorker`)."""
        await self.ensure_group()
        self.lost_seen.set()

    async def fingerprint(self) -> tuple[str, bool]:
        """What identifies the queue's data now: the server's run id and a marker key, written
        when missing (then the second value is True). A different answer later means Redis
        lost its data in between, and with it every wake-up."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.info("server")
            pipe.set(self.marker, uuid.uuid4().hex, nx=True)
            pipe.get(self.marker)
            info, created, marker = await guard(pipe.execute())
        return f"{info.get('run_id', '')}/{marker}", bool(created)

    async def enqueue(self, operation_id: str) -> None:
        await guard(self._redis.xadd(self.stream, {_FIELD: operation_id}))

    async def schedule(self, operation_id: str, delay: float) -> None:
        await guard(
            self._schedule(keys=[self.delayed], args=[operation_id, max(0, int(delay * 1000))])
        )

    async def promote_due(self, *, limit: int = 500) -> tuple[int, float | None]:
        """Move due wake-ups to the stream: (how many, seconds until the next is due)."""
        moved, wait_ms = await guard(
            self._promote(keys=[self.delayed, self.stream], args=[_FIELD, limit])
        )
        return int(moved), (None if int(wait_ms) < 0 else int(wait_ms) / 1000)

    async def read(self, consumer: str, *, block: float, count: int = 1) -> list[Delivery]:
        reply = await guard(
            self._redis.xreadgroup(
                self.group,
                consumer,
                {self.stream: ">"},
                count=count,
                block=max(1, int(block * 1000)),
            )
        )
        # RESP2 answers [[stream, messages]]; RESP3 answers {stream: messages}.
        pairs: Any = reply.items() if isinstance(reply, dict) else (reply or [])
        deliveries: list[Delivery] = []
        for _stream, messages in pairs:
            deliveries += _deliveries(messages)
        return deliveries

    async def reclaim(self, consumer: str, *, min_idle: float, count: int = 10) -> list[Delivery]:
        """Take over messages another consumer left unacked for `min_idle` seconds."""
        reply: list[Any] = await guard(
            self._redis.xautoclaim(
                self.stream,
                self.group,
                consumer,
                int(min_idle * 1000),
                start_id=self._reclaim_cursor,
                count=count,
            )
        )
        self._reclaim_cursor = str(reply[0])
        return _deliveries(reply[1])

    async def ack(self, delivery: Delivery) -> None:
        """Acknowledge and delete the message (`XACK` + `XDEL`, one round trip)."""
        await self.settle(delivery)

    async def settle(self, delivery: Delivery, *, wake_in: float | None = None) -> None:
        """Acknowledge and delete the message; with `wake_in`, schedule its operation's next
        wake-up that many seconds from now (by the Redis clock) first, as `schedule` does.
        One script, so one round trip where a step used to pay two or three."""
        delay = "" if wake_in is None else str(max(0, int(wake_in * 1000)))
        await guard(
            self._settle(
                keys=[self.stream, self.delayed],
                args=[self.group, delivery.message_id, delivery.operation_id, delay],
            )
        )

    async def forget_consumer(self, consumer: str) -> None:
        """Remove a consumer that holds no unacked message (a clean shutdown)."""
        pending = await guard(
            self._redis.xpending_range(self.stream, self.group, "-", "+", 1, consumer)
        )
        if not pending:
            await guard(self._redis.xgroup_delconsumer(self.stream, self.group, consumer))

    async def depth(self) -> QueueDepth:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.stream)
            pipe.xpending(self.stream, self.group)
            pipe.zcard(self.delayed)
            length, pending, delayed = await guard(pipe.execute())
        pending_count = int(pending["pending"]) if pending else 0
        return QueueDepth(
            ready=max(0, int(length) - pending_count),
            pending=pending_count,
            delayed=int(delayed),
        )


def _deliveries(messages: list[Any]) -> list[Delivery]:
    out: list[Delivery] = []
    for entry in messages:
        if not entry:  # an entry deleted while pending (Redis 6.2 answers nil)
            continue
        message_id, fields = entry
        if fields and _FIELD in fields:
            out.append(Delivery(str(message_id), str(fields[_FIELD])))
    return out
