"""HTTP plumbing shared by the routes, the admin API and the fault middleware: JSON bodies,
`Status` error responses, and noticing that a client went away."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from simulator import errors

JSON = "application/json"


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status_code=status, media_type=JSON, headers=headers)


def error_response(exc: errors.ApiError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return json_response(exc.to_status(), exc.code, headers)


def success_status(details: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


async def read_json(request: Request) -> Any:
    """The JSON body of a POST or PUT; 415 for other media types (protobuf: clients then
    fall back to JSON)."""
    media = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
    if media not in (JSON, "", "*/*") and not media.endswith("+json"):
        raise errors.UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types "
            f"include: {JSON}"
        )
    body = await request.body()
    if not body:
        raise errors.BadRequest("the request body is empty")
    return parse_json(body)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.BadRequest(f"the request body is not valid JSON: {exc}") from exc


async def until_disconnect(receive: Receive) -> None:
    """Return once the client has closed the connection (the request body is consumed
    along the way)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
