"""The console's platform pages: providers with their capacity, and quotas with usage.

Each page calls the API's own route functions (`app.api.v1.providers`, `.quotas`) after the
checks their dependencies make (`auth.require_admin`; a quota's READ is checked inside the
route), with the API's request model (`QuotaIn`) for the quota form: the console can show
or change nothing the API would refuse. Must not: decide a rule itself.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.api import auth, deps, errors
from app.api.v1 import providers as provider_routes
from app.api.v1 import quotas as quota_routes
from app.api.v1.database_routing import DNS_LABEL
from app.console import pages, paging
from app.console.targets import Domain, Project, Visitor

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

ProviderId = Annotated[str, Path(min_length=1, max_length=64)]
PROVIDERS = f"{pages.PREFIX}/admin/providers"
QUOTAS = f"{pages.PREFIX}/admin/quotas"
# The quota form's fields: (field, label, unit, whole numbers only).
LIMITS = (
    ("max_databases", "Databases", "databases", True),
    ("max_cpu_cores", "CPU", "cores", False),
    ("max_memory_gb", "Memory", "GB", False),
    ("max_storage_gb", "Storage", "GB", False),
)
_LABEL = re.compile(DNS_LABEL)
USAGE = {
    "max_databases": "databases",
    "max_cpu_cores": "cpu_cores",
    "max_memory_gb": "memory_gb",
    "max_storage_gb": "storage_gb",
}


@router.get("/admin/providers")
async def providers(request: Request, visitor: Visitor, service: deps.Providers) -> Response:
    auth.require_admin(visitor.principal)
    page = paging.page_asked(request.query_params)
    found = await provider_routes.list_providers(
        visitor.principal, service, page=page, page_size=paging.PAGE_SIZE
    )
    return pages.render(
        "providers.html",
        title="Providers",
        principal=visitor.principal,
        visitor=visitor,
        providers=found.providers,
        total=found.total,
        pager=paging.pager(PROVIDERS, {}, page=page, total=found.total),
    )


@router.get("/admin/providers/{provider_id}")
async def provider(visitor: Visitor, service: deps.Providers, provider_id: ProviderId) -> Response:
    auth.require_admin(visitor.principal)
    found = await provider_routes.get_provider(provider_id, visitor.principal, service)
    return pages.render(
        "provider.html",
        title=f"Provider {found.name}",
        principal=visitor.principal,
        visitor=visitor,
        provider=found,
    )


@router.get("/admin/quotas")
async def quotas(request: Request, visitor: Visitor, service: deps.QuotaService) -> Response:
    """A domain's quota (and a project's, when one is named) with usage beside each limit.
    Admins name any; other keys see their own scope, as the API's GET allows."""
    principal = visitor.principal
    query = request.query_params
    domain = query.get("domain") or principal.domain or ""
    project = query.get("project") or principal.project or ""
    saved = query.get("saved") == "1"
    return await _quota_page(visitor, service, domain=domain, project=project, saved=saved)


async def _quota_page(
    visitor: pages.Visitor,
    service: deps.QuotaService,
    *,
    domain: str,
    project: str,
    scope: str = "",
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    """`scope` (domain or project) names the form that `values` and `field_errors` are of."""
    principal = visitor.principal
    for name, value in (("domain", domain), ("project", project)):
        if value and not _LABEL.match(value):
            raise errors.ValidationFailed({f"query.{name}": "a DNS label: a-z, 0-9 and dashes"})
    tenants = []
    if domain and (principal.project is None or not project):
        tenants.append(await quota_routes.domain_quota(domain, principal, service))
    if domain and project:
        tenants.append(await quota_routes.project_quota(domain, project, principal, service))
    return pages.render(
        "quotas.html",
        status=status,
        title="Quotas",
        principal=principal,
        visitor=visitor,
        domain=domain,
        project=project,
        tenants=tenants,
        limits=LIMITS,
        usage=USAGE,
        may_set=principal.is_admin,
        form_scope=scope,
        values=values or {},
        field_errors=field_errors or {},
        saved=saved,
    )


@router.post("/admin/quotas/{domain}")
async def set_domain_quota(
    request: Request, visitor: Visitor, service: deps.QuotaService, domain: Domain
) -> Response:
    return await _set_quota(request, visitor, service, domain, None)


@router.post("/admin/quotas/{domain}/projects/{project}")
async def set_project_quota(
    request: Request, visitor: Visitor, service: deps.QuotaService, domain: Domain, project: Project
) -> Response:
    return await _set_quota(request, visitor, service, domain, project)


async def _set_quota(
    request: Request,
    visitor: pages.Visitor,
    service: deps.QuotaService,
    domain: str,
    project: str | None,
) -> Response:
    """The API's PUT: admin keys only (checked before the form is read), the body as
    `QuotaIn` validates it; a limit left empty is unlimited."""
    auth.require_admin(visitor.principal)
    form = await pages.form_of(request, csrf=visitor.session.csrf)
    values = {name: form.get(name, "").strip() for name, *_ in LIMITS}
    numbers, field_errors = _numbers(values)
    if not field_errors:
        try:
            body = quota_routes.QuotaIn.model_validate({"quota": numbers})
        except ValidationError as exc:
            field_errors = {str(e["loc"][-1]): e["msg"] for e in exc.errors()}
    if field_errors:
        return await _quota_page(
            visitor,
            service,
            domain=domain,
            project=project or "",
            scope="project" if project else "domain",
            values=values,
            field_errors=field_errors,
            status=422,
        )
    if project is None:
        await quota_routes.set_domain_quota(domain, body, visitor.principal, service)
    else:
        await quota_routes.set_project_quota(domain, project, body, visitor.principal, service)
    target = f"{QUOTAS}?domain={domain}" + (f"&project={project}" if project else "")
    return RedirectResponse(f"{target}&saved=1", status_code=303)


def _numbers(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's text as JSON's numbers (the API's model is strict), or an error per field
    that is not a number; an empty field is no limit."""
    numbers: dict[str, Any] = {}
    field_errors: dict[str, str] = {}
    for name, _, _, whole in LIMITS:
        text = values[name]
        if not text:
            numbers[name] = None
            continue
        try:
            number = int(text) if whole else float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            numbers[name] = number
        else:
            field_errors[name] = "a whole number" if whole else "a number"
    return numbers, field_errors
