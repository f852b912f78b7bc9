"""The access log: one structured `http_request` event per answered request (issue 19).

    http_request method=GET path=/api/v1/... status=200 duration_ms=1.87 client=10.0.0.7:5123
                 request_id=... (query=... when the URL had one)

It replaces uvicorn's access line, which was a formatted string the log then scanned as
free text for secrets. Here the request is scrubbed by its structure: the query string is
split into parameters and the value of each secret-looking one (`?token=...`) is masked; a
path made only of id characters (`/api/v1/domain/acme/...`) is logged as it is, anything
else in it goes through `scrub_text`. Headers are not logged at all. Every value is cut to
a fixed length before it is looked at, so a hostile URL costs a bounded amount.

`ACCESS_LOG=off` writes none; `ACCESS_LOG_SAMPLE` (0 to 1) writes that fraction of them,
chosen at random. Must not: log a header, a body, or a query value whose name looks secret.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from urllib.parse import unquote

from app.config.settings import Settings
from app.observability import log as app_log

EVENT = "http_request"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.~-]*+")

LOGGER = "app.access"


def scrub_query(query: str) -> str:
    """`a=1&token=abc` -> `a=1&token=***`: secret-looking parameters' values masked."""
    limit = app_log.MAX_LOGGED_URL_CHARS
    # Cut first (a cut value keeps its name before it, so it is still masked), marked after.
    parts = query[:limit].split("&")
    for i, part in enumerate(parts):
        name, eq, value = part.partition("=")
        if eq and value and app_log.looks_secret(unquote(name)):
            parts[i] = f"{name}={app_log.MASK}"
    scrubbed = "&".join(parts)
    return (
        f"{scrubbed}...[truncated {len(query) - limit} chars]" if len(query) > limit else scrubbed
    )


def scrub_path(path: str) -> str:
    """The path, cut to a bounded length; scanned as free text only if it holds more than
    the characters of ids and names (it never should)."""
    if not _PLAIN_PATH.fullmatch(path):
        path = app_log.scrub_text(path)  # whole, then cut: a cut could split `user:pw@`
    return app_log.bound(path, app_log.MAX_LOGGED_URL_CHARS)


class AccessLog:
    """Writes the access event of a request, or not (off, or not in the sample)."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        sample: float = 1.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if not 0 <= sample <= 1:
            raise ValueError(f"sample must be between 0 and 1, not {sample}")
        self._rate = sample if enabled else 0.0
        self._draw = draw

    @classmethod
    def of(cls, settings: Settings) -> AccessLog:
        return cls(enabled=settings.access_log, sample=settings.access_log_sample)

    def record(
        self,
        *,
        method: str,
        path: str,
        query: bytes,
        status: int,
        seconds: float,
        client: tuple[str, int] | None,
        request_id: str,
    ) -> None:
        if self._rate < 1 and (self._rate == 0 or self._draw() >= self._rate):
            return
        fields: dict[str, object] = {
            "method": app_log.bound(method, 32),
            "path": scrub_path(path),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client": f"{client[0]}:{client[1]}" if client else None,
            "request_id": request_id,
        }
        if query:
            fields["query"] = scrub_query(query.decode("latin-1"))
        app_log.write_scrubbed(LOGGER, EVENT, fields)
