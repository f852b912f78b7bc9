"""The one place the SDK sends HTTP: the key, the timeouts, the idempotency keys, the errors.

Every mutating request (POST, PATCH, PUT, DELETE) carries an `Idempotency-Key` header: the
caller's, or a fresh random one. The API answers a repeat of the same key and body with the
first answer and starts nothing new, so a caller that retries with its key is safe.
Transport failures become `ConnectionFailed`, error answers the `ApiError` leaf of their
status (`errors.from_response`); nothing of httpx leaks to the caller.

A 429 (rate limit) or 503 (a dependency down) is retried by the `RetryPolicy`, waiting what
`Retry-After` says (capped) or the policy's backoff: safe for a mutation too, since its
retry carries the same idempotency key.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from kdb import __version__
from kdb.sdk import errors

MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_TIMEOUT = 30.0
RETRIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before repeating a request answered 429 or 503."""

    attempts: int = 4
    initial: float = 0.5
    factor: float = 2.0
    cap: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1` (attempts count from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        return min(self.initial * self.factor ** (attempt - 1), self.cap)


DEFAULT_RETRY = RetryPolicy()


def new_idempotency_key() -> str:
    return f"kdb-{uuid.uuid4()}"


class Transport:
    """JSON over HTTP to one API with one key."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"kdb/{__version__}",
            },
            timeout=timeout,
            transport=http,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer (None for an empty one)."""
        headers: dict[str, str] = {}
        if method.upper() in MUTATING:
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        # None, not {}: httpx drops a query written in `path` when given empty params.
        for attempt in range(1, max(self.retry.attempts, 1) + 1):
            response = self._send(method, path, json=json, params=query or None, headers=headers)
            if response.status_code not in RETRIED_STATUSES or attempt >= self.retry.attempts:
                break
            self._sleep(self.retry.delay(attempt, errors.from_response(response).retry_after))
        if response.status_code >= 400:
            raise errors.from_response(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise errors.ApiError(
                response.status_code, "invalid_response", f"{path} answered no JSON"
            ) from e

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **options)
        except httpx.TimeoutException as e:
            raise errors.ConnectionFailed(f"{self.url} did not answer in time ({e})") from e
        except httpx.TransportError as e:
            raise errors.ConnectionFailed(f"cannot reach {self.url}: {e}") from e
