"""The `Idempotency-Key` header on database mutations (API.md, Conventions).

A dependency that runs after authentication (so a replay never reaches someone holding
another key) claims the key before the route runs, replays the stored answer when the same
key comes back with the same request, and refuses a reuse with another body (422
`idempotency_key_reused`) or a duplicate still in flight (409). Only accepted (2xx) answers
are kept; a request that failed started nothing and may simply be sent again.

Keeping the answer comes after the work was accepted: when Redis refuses it, the answer is
still the 202 (logged, naming the call), and the claim is left to expire rather than
released, so a retry within `PENDING_TTL_SECONDS` is told the first is in progress instead
of starting the work again (issue 12, item 20).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.api import auth, deps
from app.api.errors import ApiError
from app.broker.errors import BrokerError
from app.observability.log import get_logger
from app.services import idempotency
from app.services.idempotency import IdempotencyStore, StoredResponse

log = get_logger(__name__)

HEADER = idempotency.HEADER
MAX_KEY_LENGTH = 255


class Replay(Exception):
    def __init__(self, response: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


@dataclass
class Guard:
    store: IdempotencyStore | None = None
    owner: str = ""
    key: str = ""
    fingerprint: str = ""
    finished: bool = False

    async def keep(self, response: JSONResponse) -> JSONResponse:
        """Remember an accepted answer for replays; returns it unchanged."""
        if self.store is not None and 200 <= response.status_code < 300:
            body = json.loads(bytes(response.body))
            headers = {k: v for k, v in response.headers.items() if k.lower() == "location"}
            # Finished either way: a claim that could not be completed is not released.
            self.finished = True
            try:
                await self.store.finish(
                    self.owner,
                    self.key,
                    self.fingerprint,
                    StoredResponse(response.status_code, body, headers),
                )
            except BrokerError as exc:
                log.warning(
                    "idempotency_answer_not_kept",
                    call="idempotency.finish",
                    op_id=body.get("operation_id") if isinstance(body, dict) else None,
                    error=str(exc),
                )
        return response


async def guard(
    request: Request,
    principal: Annotated[auth.Principal, Depends(auth.authenticate)],
    store: deps.Idempotency,
) -> AsyncIterator[Guard]:
    key = request.headers.get(HEADER)
    if not key:
        yield Guard()
        return
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            422,
            "validation_error",
            f"{HEADER} is longer than {MAX_KEY_LENGTH}",
            {"fields": {HEADER: f"at most {MAX_KEY_LENGTH} characters"}},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    print_ = idempotency.fingerprint(request.method, target, await request.body())
    replay = await store.begin(principal.key_id, key, print_)
    if replay is not None:
        raise Replay(replay)
    current = Guard(store, principal.key_id, key, print_)
    try:
        yield current
    finally:
        if not current.finished:
            await store.release(principal.key_id, key)


Idempotent = Annotated[Guard, Depends(guard)]


async def _replay(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Replay)
    headers = {**exc.response.headers, "Idempotent-Replayed": "true"}
    return JSONResponse(exc.response.body, status_code=exc.response.status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Replay, _replay)
