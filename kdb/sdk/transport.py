"""The one place the SDK sends HTTP: the key, the timeouts, the idempotency keys, the errors.

Every mutating request (POST, PATCH, PUT, DELETE) carries an `Idempotency-Key` header: the
caller's, or a fresh random one. The API answers a repeat of the same key and body with the
first answer and starts nothing new, so a caller that retries with its key is safe.
Transport failures become `ConnectionFailed`, error answers the `ApiError` leaf of their
status (`errors.from_response`); nothing of httpx leaks to the caller.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from kdb import __version__
from kdb.sdk import errors

MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_TIMEOUT = 30.0


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
    ) -> None:
        self.url = url.rstrip("/")
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
        try:
            response = self._client.request(method, path, json=json, params=query, headers=headers)
        except httpx.TimeoutException as e:
            raise errors.ConnectionFailed(f"{self.url} did not answer in time ({e})") from e
        except httpx.TransportError as e:
            raise errors.ConnectionFailed(f"cannot reach {self.url}: {e}") from e
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
