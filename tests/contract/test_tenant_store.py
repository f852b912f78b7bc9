"""The tenant repository (quotas and usage), on every store adapter."""

from __future__ import annotations

import pytest

from app.domain.quotas import Quota, Tenant, tenant_id
from app.store import errors
from app.store.protocols import Store


async def test_a_tenant_is_made_once_and_changed_by_compare_and_set(store: Store) -> None:
    made = await store.tenants.insert(
        Tenant(id=tenant_id("acme", "shop"), domain="acme", project="shop")
    )
    with pytest.raises(errors.Conflict):
        await store.tenants.insert(Tenant(id=made.id, domain="acme", project="shop"))

    charged = await store.tenants.update_fields(
        made.id, {"databases": 2, "cpu_cores": 1.5}, expected_revision=made.revision
    )
    with pytest.raises(errors.RevisionConflict):
        await store.tenants.update_fields(
            made.id, {"databases": 9}, expected_revision=made.revision
        )
    limited = await store.tenants.update_fields(made.id, {"quota": Quota(max_databases=3)})

    again = await store.tenants.get(made.id)
    assert (charged.databases, charged.cpu_cores) == (2, 1.5)
    assert again is not None and again.quota == Quota(max_databases=3)
    assert again.model_dump() == limited.model_dump()
    assert await store.tenants.get(tenant_id("globex")) is None
