"""A watch over HTTP: one subscription streamed as newline-delimited JSON events.

The response ends when `timeoutSeconds` pass, the subscription closes (server stopping, slow
watcher) or the client goes away (noticed at once, not at the next event, so idle watches
do not pile up). With `allowWatchBookmarks`, a BOOKMARK carrying the latest resourceVersion
goes out every `watch_bookmark_interval_seconds` while nothing else is pending. A watch
that cannot start (too old resourceVersion) is one ERROR event with a 410 Expired Status.

Events are objects, or one-row `Table`s when kubectl asked for tables (`kubectl get -w`).

Watch faults (`watch_drop_*` knobs) end the stream early: `close` ends it cleanly, `abort`
cuts the connection mid-body (the ASGI app raises `WatchDropped`, uvicorn closes the socket;
`QuietDrops` keeps that deliberate cut out of the error log).
"""

from __future__ import annotations

import asyncio
import logging
import random

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from simulator import errors, tables, wire
from simulator.config import Config, Knob
from simulator.faults import Stats
from simulator.registry import ResourceType
from simulator.verbs import Verbs
from simulator.watch import Subscription, WatchEvent

WATCH_KNOBS = (
    Knob(
        "watch_bookmark_interval_seconds",
        60.0,
        "seconds between BOOKMARK events on watches that allow them",
        minimum=0.01,
    ),
)
DEFAULT_TIMEOUT_SECONDS = 1800
_BATCH = 256


class WatchDropped(Exception):
    """Raised out of the ASGI app to cut a watch connection (an injected fault)."""


class QuietDrops(logging.Filter):
    """Keeps uvicorn from logging injected watch drops as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, WatchDropped)


QUIET_DROPS = QuietDrops()


class WatchStream(Response):
    media_type = wire.JSON

    def __init__(
        self,
        rt: ResourceType,
        subscription: Subscription | None,
        *,
        verbs: Verbs,
        config: Config,
        stats: Stats,
        rng: random.Random,
        timeout: float,
        bookmarks: bool,
        as_table: bool = False,
        error: errors.ApiError | None = None,
    ) -> None:
        super().__init__(
            status_code=200, media_type=wire.JSON, headers={"Cache-Control": "no-cache, private"}
        )
        self._rt = rt
        self._subscription = subscription
        self._verbs = verbs
        self._config = config
        self._stats = stats
        self._rng = rng
        self._timeout = timeout
        self._bookmarks = bookmarks
        self._as_table = as_table
        self._error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        dropped = False
        if self._subscription is None:
            error = self._error or errors.InternalError("the watch could not start")
            await self._send(send, [WatchEvent("ERROR", error.to_status())])
        else:
            subscription = self._subscription
            try:
                async with asyncio.TaskGroup() as group:
                    listener = group.create_task(
                        self._close_on_disconnect(receive, subscription),
                        name="simulator-watch-disconnect",
                    )
                    try:
                        dropped = await self._pump(send, subscription)
                    finally:
                        listener.cancel()
            finally:
                subscription.close()
        if dropped and self._config.get_str("watch_drop_mode") == "abort":
            raise WatchDropped("injected watch drop")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _close_on_disconnect(receive: Receive, subscription: Subscription) -> None:
        await wire.until_disconnect(receive)
        subscription.close("the client went away")

    def _encode(self, event: WatchEvent) -> bytes:
        if event.type in ("BOOKMARK", "ERROR"):
            return wire.dumps(event.object)
        if self._as_table:
            return wire.dumps(tables.table(self._rt, [event.object]))
        return self._verbs.store.encode(self._rt, event.object)

    async def _send(self, send: Send, events: list[WatchEvent]) -> None:
        body = b"".join(
            b'{"type":"' + event.type.encode() + b'","object":' + self._encode(event) + b"}\n"
            for event in events
        )
        await send({"type": "http.response.body", "body": body, "more_body": True})

    async def _pump(self, send: Send, subscription: Subscription) -> bool:
        """Stream events until the end; True if a fault dropped the stream."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        interval = self._config.get_float("watch_bookmark_interval_seconds")
        next_bookmark = loop.time() + interval if self._bookmarks else float("inf")
        sent = 0
        while (now := loop.time()) < deadline:
            event = await subscription.next(min(deadline, next_bookmark) - now)
            if event is None:
                if subscription.closed:
                    return False
                if loop.time() >= next_bookmark and not subscription.pending():
                    rv = max(subscription.delivered_rv, self._verbs.hub.latest_rv)
                    await self._send(
                        send, [WatchEvent("BOOKMARK", self._verbs.bookmark(self._rt, rv))]
                    )
                    next_bookmark = loop.time() + interval
                continue
            batch = [event]
            while len(batch) < _BATCH and subscription.pending():
                more = subscription.pop()
                if more is not None:
                    batch.append(more)
            batch = [e for e in batch if e.type != "BOOKMARK" or self._bookmarks]
            keep, dropped = self._until_drop(batch, sent)
            if keep:
                await self._send(send, keep)
                sent += len(keep)
            if dropped:
                self._stats.fault("watch_drop")
                return True
        return False

    def _until_drop(self, batch: list[WatchEvent], sent: int) -> tuple[list[WatchEvent], bool]:
        """The events to send before an injected drop, and whether the drop happens."""
        after = self._config.get_int("watch_drop_after_events")
        chance = self._config.get_float("watch_drop_probability")
        if not after and not chance:
            return batch, False
        keep: list[WatchEvent] = []
        for event in batch:
            if chance and self._rng.random() < chance:
                return keep, True
            keep.append(event)
            if after and sent + len(keep) >= after:
                return keep, True
        return keep, False
