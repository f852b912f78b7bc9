"""`/api/v1/domains/{domain}` and `/api/v1/domains/{domain}/projects/{project}`: quotas and
usage. Admin keys set quotas (PUT); any key of the domain (or of the project) reads them with
the current usage beside each limit (GET). A limit left out is unlimited. Both are
authorized before the path and body are validated (`auth.Admin`, `auth.TENANT_GATE`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from app.api import auth, deps, errors
from app.api.v1 import fields
from app.api.v1.database_routing import Domain, Project
from app.domain import access, clock
from app.domain.quotas import Quota, Tenant

router = APIRouter(
    prefix="/api/v1/domains",
    tags=["quotas"],
    responses=errors.error_responses(400, 401, 403, 404, 422, 429),
)

Caller = Annotated[auth.Principal, Depends(auth.authenticate)]


class StrictQuota(Quota):
    """The quota as a request gives it: JSON's own types (a string is not a count)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class QuotaIn(fields.RequestBody):
    quota: StrictQuota


class Usage(BaseModel):
    databases: int
    cpu_cores: float
    memory_gb: float
    storage_gb: float


class TenantOut(BaseModel):
    domain: str
    project: str | None
    quota: Quota
    usage: Usage
    updated_at: clock.Timestamp

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            domain=tenant.domain,
            project=tenant.project,
            quota=tenant.quota,
            usage=Usage(
                databases=tenant.databases,
                cpu_cores=tenant.cpu_cores,
                memory_gb=tenant.memory_gb,
                storage_gb=tenant.storage_gb,
            ),
            updated_at=tenant.updated_at,
        )


@router.put("/{domain}", response_model=TenantOut, summary="Set a domain's quota")
async def set_domain_quota(
    domain: Domain, body: QuotaIn, caller: auth.Admin, quotas: deps.QuotaService
) -> TenantOut:
    return TenantOut.of(await quotas.set_quota(domain, None, body.quota))


@router.get(
    "/{domain}",
    response_model=TenantOut,
    summary="A domain's quota and usage",
    dependencies=[auth.TENANT_GATE],
)
async def domain_quota(domain: Domain, caller: Caller, quotas: deps.QuotaService) -> TenantOut:
    auth.authorize(caller, domain=domain, project=None, action=access.Action.READ)
    return TenantOut.of(await quotas.tenant(domain))


@router.put(
    "/{domain}/projects/{project}", response_model=TenantOut, summary="Set a project's quota"
)
async def set_project_quota(
    domain: Domain, project: Project, body: QuotaIn, caller: auth.Admin, quotas: deps.QuotaService
) -> TenantOut:
    return TenantOut.of(await quotas.set_quota(domain, project, body.quota))


@router.get(
    "/{domain}/projects/{project}",
    response_model=TenantOut,
    summary="A project's quota and usage",
    dependencies=[auth.TENANT_GATE],
)
async def project_quota(
    domain: Domain, project: Project, caller: Caller, quotas: deps.QuotaService
) -> TenantOut:
    auth.authorize(caller, domain=domain, project=project, action=access.Action.READ)
    return TenantOut.of(await quotas.tenant(domain, project))
