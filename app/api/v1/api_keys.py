"""`/api/v1/api-keys`: create (the secret is shown once), list, read and revoke API keys.

Admins manage every key; owners manage keys inside their own scope (a domain owner: the
domain's keys, domain-wide and per project; a project owner: that project's keys) and may
create owner, member and viewer keys there. Any key may read and revoke itself. Keys outside
the caller's reach answer 404, as missing ones do. See docs/api-keys.md.

Must not: return, log or store a secret; the secret exists only in the create answer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from app.api import auth, deps, errors
from app.api.v1 import fields
from app.domain import access, clock
from app.domain import api_keys as key_rules
from app.domain import errors as domain_errors
from app.domain.api_keys import ApiKey, Role
from app.services.api_keys import ApiKeyService

# 400: a body that is not JSON at all (every route here may get one).
router = APIRouter(
    prefix="/api/v1/api-keys", tags=["api-keys"], responses=errors.error_responses(400, 429)
)

Caller = Annotated[auth.Principal, Depends(auth.authenticate)]
KeyId = Annotated[str, Path(min_length=1, max_length=64, description="`key-...`")]

# Offsets past this would overflow the stores' 64-bit integers long before anyone pages there.
MAX_PAGE = 1_000_000
_MANAGERS_ONLY = "managing API keys needs an admin key or an owner key"
# Creating and listing keys: admin and owner keys only, before the body and query are read.
_MANAGER = Depends(auth.require_key_manager)


_DNS_LABEL_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", "maxLength": 63},
        {"type": "null"},
    ]
}


class CreateApiKey(fields.RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Annotated[Role, Field(strict=False)]
    # The DNS-label rule is checked by `fields.dns_label` (with its own message); the schema
    # states it too.
    domain: Annotated[str | None, WithJsonSchema(_DNS_LABEL_SCHEMA)] = Field(
        default=None, description="DNS-1123 label; not for admin keys"
    )
    project: Annotated[str | None, WithJsonSchema(_DNS_LABEL_SCHEMA)] = Field(
        default=None, description="DNS-1123 label; needs `domain`"
    )

    _tenant = field_validator("domain", "project")(fields.dns_label)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    domain: str | None
    project: str | None
    key_prefix: str = Field(description="what this key's secret starts with")
    status: Literal["active", "revoked"]
    created_by: str | None
    created_at: clock.Timestamp
    last_used_at: clock.Timestamp | None
    revoked_at: clock.Timestamp | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            role=key.role,
            domain=key.domain,
            project=key.project,
            key_prefix=key_rules.token_prefix(key.id),
            status="revoked" if key.is_revoked else "active",
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class IssuedApiKeyOut(ApiKeyOut):
    secret: str = Field(description="send as `Authorization: Bearer <secret>`; shown only once")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]
    total: int
    page: int
    page_size: int


@router.post(
    "",
    status_code=201,
    response_model=IssuedApiKeyOut,
    summary="Create an API key",
    responses=errors.error_responses(
        401, 403, 422, s403="the caller may not create a key with this role or scope"
    ),
    dependencies=[_MANAGER],
)
@router.post(
    "/",
    status_code=201,
    response_model=IssuedApiKeyOut,
    include_in_schema=False,
    dependencies=[_MANAGER],
)
async def create_api_key(
    body: CreateApiKey, principal: Caller, keys: deps.ApiKeys, response: Response
) -> IssuedApiKeyOut:
    try:
        key_rules.check_scope(body.role, domain=body.domain, project=body.project)
    except domain_errors.InvalidValue as exc:
        raise errors.ValidationFailed({f"body.{exc.field}": exc.message}) from None
    decision = access.decide_key_issue(
        principal, role=body.role, domain=body.domain, project=body.project
    )
    auth.check(
        decision,
        missing="not found",
        forbidden="an owner key creates owner, member or viewer keys inside its own scope only"
        if principal.role is Role.OWNER
        else _MANAGERS_ONLY,
    )
    issued = await keys.issue(
        name=body.name,
        role=body.role,
        domain=body.domain,
        project=body.project,
        created_by=principal.key_id,
    )
    response.headers["Location"] = f"{router.prefix}/{issued.key.id}"
    response.headers["Cache-Control"] = "no-store"
    return IssuedApiKeyOut(**ApiKeyOut.of(issued.key).model_dump(), secret=issued.token)


@router.get(
    "",
    response_model=ApiKeyList,
    summary="API keys the caller manages, newest first",
    responses=errors.error_responses(401, 403, 422),
    dependencies=[_MANAGER],
)
@router.get("/", response_model=ApiKeyList, include_in_schema=False, dependencies=[_MANAGER])
async def list_api_keys(
    principal: Caller,
    keys: deps.ApiKeys,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ApiKeyList:
    domain, project = access.visible_scope(principal)
    decision = access.decide_key_management(principal, domain=domain, project=project)
    auth.check(decision, missing="not found", forbidden=_MANAGERS_ONLY)
    result = await keys.page(
        domain=domain,
        project=project,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return ApiKeyList(
        api_keys=[ApiKeyOut.of(k) for k in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


async def _reachable(keys: ApiKeyService, principal: auth.Principal, key_id: str) -> ApiKey:
    missing = f"API key {key_id} not found"
    key = await keys.get(key_id)
    if key is None:
        raise errors.NotFound(missing)
    if key.id != principal.key_id:
        decision = access.decide_key_management(principal, domain=key.domain, project=key.project)
        auth.check(decision, missing=missing, forbidden=_MANAGERS_ONLY)
    return key


@router.get(
    "/{key_id}",
    response_model=ApiKeyOut,
    summary="One API key",
    responses=errors.error_responses(401, 403, 404, 422),
)
async def get_api_key(key_id: KeyId, principal: Caller, keys: deps.ApiKeys) -> ApiKeyOut:
    return ApiKeyOut.of(await _reachable(keys, principal, key_id))


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    summary="Revoke an API key (idempotent)",
    responses=errors.error_responses(401, 403, 404, 422),
)
async def revoke_api_key(key_id: KeyId, principal: Caller, keys: deps.ApiKeys) -> ApiKeyOut:
    await _reachable(keys, principal, key_id)
    revoked = await keys.revoke(key_id, by=principal.key_id)
    return ApiKeyOut.of(revoked)
