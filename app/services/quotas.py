"""Quotas: setting them, reading them with their usage, and charging usage atomically.

`charge` moves a project's usage and its domain's by compare-and-set on each record's
revision, project first; when the domain refuses, the project's charge is taken back. With
`check`, a change that would pass a limit raises `QuotaExceeded` and charges nothing.
"""

from __future__ import annotations

import asyncio
import random

from app.domain import clock
from app.domain import quotas as rules
from app.domain.providers import Demand
from app.domain.quotas import Quota, Tenant
from app.services.errors import ServiceError
from app.store import errors as store_errors
from app.store.protocols import Fence, Store

_ATTEMPTS = 200


class QuotaExceeded(ServiceError):
    status = 429
    code = "quota_exceeded"

    def __init__(self, excess: rules.Excess) -> None:
        super().__init__(
            excess.message,
            details=excess.details,
        )
        self.excess = excess


class Quotas:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def tenant(self, domain: str, project: str | None = None) -> Tenant:
        """The tenant record, made (with no quota and no usage) when there is none."""
        tenant_id = rules.tenant_id(domain, project)
        found = await self._store.tenants.get(tenant_id)
        if found is not None:
            return found
        try:
            return await self._store.tenants.insert(
                Tenant(id=tenant_id, domain=domain, project=project)
            )
        except store_errors.Conflict:
            made = await self._store.tenants.get(tenant_id)  # made alongside
            assert made is not None
            return made

    async def set_quota(self, domain: str, project: str | None, quota: Quota) -> Tenant:
        tenant = await self.tenant(domain, project)
        return await self._store.tenants.update_fields(
            tenant.id, {"quota": quota, "updated_at": clock.utcnow()}
        )

    async def charge(
        self,
        domain: str,
        project: str,
        *,
        count: int,
        demand: Demand,
        check: bool,
        fence: Fence | None = None,
    ) -> None:
        """Add `count` databases and `demand` to the project and the domain (negative:
        take them off). With `check`, `QuotaExceeded` when a limit would be passed; with
        `fence` (the reconciler's epoch), `store_errors.Fenced` when it is stale."""
        if count == 0 and demand.is_zero:
            return
        await self._charge_one(domain, project, count, demand, check=check, fence=fence)
        try:
            await self._charge_one(domain, None, count, demand, check=check, fence=fence)
        except BaseException:
            await self._charge_one(domain, project, -count, -demand, check=False, fence=fence)
            raise

    async def _charge_one(
        self,
        domain: str,
        project: str | None,
        count: int,
        demand: Demand,
        *,
        check: bool,
        fence: Fence | None = None,
    ) -> None:
        for _ in range(_ATTEMPTS):
            tenant = await self.tenant(domain, project)
            if check:
                over = rules.excess(tenant, count, demand)
                if over is not None:
                    raise QuotaExceeded(over)
            try:
                await self._store.tenants.update_fields(
                    tenant.id,
                    rules.with_change(tenant, count, demand),
                    expected_revision=tenant.revision,
                    fence=fence,
                )
                return
            except store_errors.RevisionConflict:
                await asyncio.sleep(random.uniform(0, 0.01))
        raise store_errors.StoreUnavailable(
            f"the usage of {rules.tenant_id(domain, project)} keeps changing; try again"
        )
