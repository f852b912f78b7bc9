"""`/api/v1/api-keys`: create, list, read and revoke API keys.

Admin keys manage every key, owner keys those of their own scope; any key may read and
revoke itself. The secret exists only in the answer to `create` (`IssuedApiKey.secret`):
the API keeps a hash, so a lost secret means a new key. Revoking is idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kdb.sdk.models import Model, Page, page_of
from kdb.sdk.transport import Transport

PATH = "/api/v1/api-keys"
ROLES = ("admin", "owner", "member", "viewer")


class ApiKey(Model):
    id: str
    name: str
    role: str
    domain: str | None = None
    project: str | None = None
    key_prefix: str = ""
    status: str = "active"
    created_by: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class IssuedApiKey(ApiKey):
    """A key as created: with its secret, shown this once."""

    secret: str


class ApiKeys:
    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def create(
        self, name: str, *, role: str, domain: str | None = None, project: str | None = None
    ) -> IssuedApiKey:
        body: dict[str, Any] = {"name": name, "role": role}
        body |= {k: v for k, v in (("domain", domain), ("project", project)) if v is not None}
        return IssuedApiKey.model_validate(self._http.request("POST", PATH, json=body))

    def list(self, *, page: int = 1, page_size: int = 20) -> Page[ApiKey]:
        params = {"page": page, "page_size": page_size}
        return page_of(self._http.request("GET", PATH, params=params), "api_keys", ApiKey)

    def get(self, key_id: str) -> ApiKey:
        return ApiKey.model_validate(self._http.request("GET", f"{PATH}/{key_id}"))

    def revoke(self, key_id: str) -> ApiKey:
        return ApiKey.model_validate(self._http.request("DELETE", f"{PATH}/{key_id}"))
