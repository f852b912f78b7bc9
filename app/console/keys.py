"""The console's API keys page: the keys a caller manages, create (the secret shown once)
and revoke.

Each action is the API's own route function (`app.api.v1.api_keys`) after the check its
dependency makes (`auth.require_key_manager`), with the API's body model (`CreateApiKey`):
an owner sees and makes keys inside its own scope only, and never an admin key, because the
API's `access.decide_key_issue` / `decide_key_management` say so. The secret is in the
create answer's page only (`Cache-Control: no-store`); a revoked key's console sessions end
on their next request (`pages.visitor`). Must not: keep, log or show a secret again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.api import auth, deps, errors
from app.api.v1 import api_keys as key_routes
from app.console import pages, paging, targets
from app.console.targets import Visitor
from app.domain.api_keys import Role

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

KeyId = Annotated[str, Path(min_length=1, max_length=64)]
KEYS = f"{pages.PREFIX}/api-keys"
_FIELDS = ("name", "role", "domain", "project")


@router.get("/api-keys")
async def api_keys(request: Request, visitor: Visitor, keys: deps.ApiKeys) -> Response:
    principal = await auth.require_key_manager(visitor.principal)
    query = request.query_params
    return await _list_page(
        visitor,
        keys,
        page=paging.page_asked(query),
        values={"domain": principal.domain or "", "project": principal.project or ""},
        notice=f"Key {query['revoked']} is revoked." if query.get("revoked") else None,
    )


async def _list_page(
    visitor: pages.Visitor,
    keys: deps.ApiKeys,
    *,
    page: int = 1,
    values: dict[str, str],
    field_errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    principal = visitor.principal
    found = await key_routes.list_api_keys(principal, keys, page=page, page_size=paging.PAGE_SIZE)
    roles = [r.value for r in Role if principal.is_admin or r is not Role.ADMIN]
    return pages.render(
        "api_keys.html",
        status=status,
        title="API keys",
        principal=principal,
        visitor=visitor,
        keys=found.api_keys,
        total=found.total,
        pager=paging.pager(KEYS, {}, page=page, total=found.total),
        roles=roles,
        values=values,
        field_errors=field_errors or {},
        notice=notice,
    )


@router.post("/api-keys")
async def create_api_key(request: Request, visitor: Visitor, keys: deps.ApiKeys) -> Response:
    principal = await auth.require_key_manager(visitor.principal)
    form = await pages.form_of(request, csrf=visitor.session.csrf)
    values = {name: form.get(name, "").strip() for name in _FIELDS}
    try:
        body = key_routes.CreateApiKey.model_validate(
            {name: value or None for name, value in values.items()}
        )
        issued = await key_routes.create_api_key(body, principal, keys, Response())
    except ValidationError as exc:
        found = targets.field_errors(exc)
        return await _list_page(visitor, keys, values=values, field_errors=found, status=422)
    except errors.ValidationFailed as exc:  # the scope's rule for the role
        found = {str(k).removeprefix("body."): str(v) for k, v in exc.details["fields"].items()}
        return await _list_page(visitor, keys, values=values, field_errors=found, status=422)
    except errors.Forbidden as exc:  # a role or a scope this key may not give
        return await _list_page(
            visitor, keys, values=values, field_errors={"form": exc.message}, status=403
        )
    response = pages.render(
        "api_key_created.html",
        status=201,
        title=f"API key {issued.name} created",
        principal=principal,
        visitor=visitor,
        key=issued,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/api-keys/{key_id}/revoke")
async def confirm_revoke(visitor: Visitor, keys: deps.ApiKeys, key_id: KeyId) -> Response:
    key = await key_routes.get_api_key(key_id, visitor.principal, keys)
    return pages.render(
        "api_key_revoke.html",
        title=f"Revoke API key {key.name}",
        principal=visitor.principal,
        visitor=visitor,
        key=key,
    )


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(
    request: Request, visitor: Visitor, keys: deps.ApiKeys, key_id: KeyId
) -> Response:
    await pages.form_of(request, csrf=visitor.session.csrf)
    await key_routes.revoke_api_key(key_id, visitor.principal, keys)
    if key_id == visitor.principal.key_id:  # this session's own key: it has ended
        return RedirectResponse(pages.SIGN_IN, status_code=303)
    return RedirectResponse(f"{KEYS}?revoked={key_id}", status_code=303)
