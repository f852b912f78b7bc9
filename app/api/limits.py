"""Bounds on what a request may bring, enforced before anything parses it.

- The body: MAX_REQUEST_BODY_BYTES. A `Content-Length` over it is refused at once, without
  reading; a body without one (chunked) is counted as it arrives and refused the moment it
  passes the limit. Either way: 413 `request_too_large` with the limit in `details`, and
  the route never runs. A body within the limit is read here and handed on whole, so the
  app holds at most the limit per request, never more.
- The path: no segment may be longer than MAX_PATH_SEGMENT characters (every id, name,
  domain and project is far shorter): such a path names nothing, 404 `not_found`, before
  routing, so a huge id reaches no store query, audit entry or log field.

It sits inside the request middleware (the answer carries the request id) and must not
look at what a body says.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_body

MAX_PATH_SEGMENT = 253
_BODY_HEADERS = (b"content-length", b"transfer-encoding")


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        # A path no longer than a segment may be has no segment too long: split no further.
        if len(path) > MAX_PATH_SEGMENT and any(
            len(part) > MAX_PATH_SEGMENT for part in path.split("/")
        ):
            await _answer(
                send,
                404,
                "not_found",
                "no resource has a name that long",
                {"max_path_segment": MAX_PATH_SEGMENT},
            )
            return
        headers = dict(scope["headers"]) if scope["headers"] else {}
        if not any(name in headers for name in _BODY_HEADERS):
            await self.app(scope, receive, send)  # no body (a GET): nothing to count
            return
        length = headers.get(b"content-length", b"").strip()
        if length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(send)
            return
        body = await self._read(receive)
        if body is None:
            await self._too_large(send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None past the limit (the rest left unread)."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # the client went away: hand that on
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _too_large(self, send: Send) -> None:
        limit = self.max_body_bytes
        await _answer(
            send,
            413,
            "request_too_large",
            f"the request body is larger than {limit} bytes",
            {"limit_bytes": limit},
            close=True,
        )


def _replay(first: Message, receive: Receive) -> Receive:
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return replay


async def _answer(
    send: Send,
    status: int,
    code: str,
    message: str,
    details: dict[str, object],
    *,
    close: bool = False,
) -> None:
    # Compact, as every other answer (Starlette's JSONResponse) is written.
    body = json.dumps(error_body(code, message, details), separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
