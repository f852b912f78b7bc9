"""The console's lists over plain HTTP: database lists sorted and paged server-side with their
filters kept, the cross-project list's scope, and a project's operations page (filters,
paging, polling while active, cancel and its refusals)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.config.settings import Settings
from app.console import operations as console_operations
from app.domain import clock
from app.domain.databases import Database, DatabaseStatus
from app.domain.operations import Operation, OperationStatus
from app.store.protocols import Store
from tests.console.flows import anonymous, csrf_of, issue_key, sign_in
from tests.e2e.platform import ADMIN, BASE, Platform, running
from tests.support import eventually

DATABASES = "/console/domain/acme/project/shop/databases"
OPERATIONS = "/console/domain/acme/project/shop/operations"
ROW = re.compile(
    r'<tr id="row-[^"]+">\s*(?:<td>([a-z0-9-]+)</td><td>([a-z0-9-]+)</td>)?\s*'
    r'<td><a href="[^"]+">([a-z0-9-]+)</a>'
)


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path) as started:
        yield started


def names(page: str) -> list[str]:
    return [found[2] for found in ROW.findall(page)]


def tenants(page: str) -> set[tuple[str, str]]:
    return {(found[0], found[1]) for found in ROW.findall(page)}


async def seed(
    store: Store,
    count: int,
    *,
    domain: str = "acme",
    project: str = "shop",
    engine: str = "redis",
    prefix: str = "db",
) -> list[Database]:
    """`count` databases written to the store directly, one second apart (none in the
    cluster: these tests read lists)."""
    start = clock.utcnow() - timedelta(hours=1)
    made = []
    for i in range(count):
        made.append(
            await store.databases.insert(
                Database(
                    name=f"{prefix}-{i:02d}",
                    domain=domain,
                    project=project,
                    engine=engine,
                    version="8.2.2",
                    status=DatabaseStatus.RUNNING,  # not a pending orphan to roll back
                    created_at=start + timedelta(seconds=i),
                )
            )
        )
    return made


async def an_operation(
    store: Store, database: Database, kind: str, *, ended: bool = True, at: int = 0
) -> Operation:
    """An operation written to the store; an active one is not due for an hour, so no worker
    takes it before the test acts."""
    now = clock.utcnow()
    operation = Operation(
        database_id=database.id,
        domain=database.domain,
        project=database.project,
        type=kind,
        created_at=now + timedelta(seconds=at),
        next_run_at=now + timedelta(hours=1),
        deadline_at=now + timedelta(hours=2),
    )
    await store.operations.create_active(operation)
    if ended:
        await store.operations.update_fields(operation.id, {"status": OperationStatus.RUNNING})
        return await store.operations.update_fields(
            operation.id, {"status": OperationStatus.SUCCEEDED, "progress": 100}
        )
    return operation


async def test_a_projects_databases_sort_by_a_header_and_keep_filters_and_sort_across_pages(
    platform: Platform,
) -> None:
    runtime, api, _ = platform
    redis = await seed(runtime.store, 23)
    await seed(runtime.store, 2, engine="mysql", prefix="my")
    await an_operation(runtime.store, redis[22], "create")
    await an_operation(runtime.store, redis[22], "restart", ended=False, at=5)
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        newest = await admin.get(DATABASES)
        assert names(newest.text)[:3] == ["db-22", "db-21", "db-20"]
        assert 'aria-sort="descending"><a class="sort" id="sort-created_at"' in newest.text
        row = newest.text.split('id="row-')[1].split("</tr>")[0]
        assert 'class="last-op">restart</span>' in row and "op-queued" in row

        by_name = await admin.get(DATABASES, params={"sort": "name", "engine": "redis"})
        assert names(by_name.text) == [f"db-{i:02d}" for i in range(20)]
        assert (
            'aria-sort="ascending"><a class="sort" id="sort-name" href="?engine=redis'
            '&amp;sort=-name"' in by_name.text
        )
        assert 'id="next" rel="next" href="?engine=redis&amp;sort=name&amp;page=2"' in by_name.text
        second = await admin.get(DATABASES, params={"engine": "redis", "sort": "name", "page": 2})
        assert names(second.text) == ["db-20", "db-21", "db-22"]
        assert 'href="?engine=redis&amp;sort=name"' in second.text  # back to page 1
        assert 'name="sort" value="name"' in second.text  # a new filter keeps the sort

        backwards = await admin.get(DATABASES, params={"sort": "-name", "name": "my"})
        assert names(backwards.text) == ["my-01", "my-00"]
        refused = await admin.get(DATABASES, params={"sort": "password"})
        assert refused.status_code == 422 and "query.sort" in refused.text
        assert refused.headers["content-type"].startswith("text/html")

    listed = (await api.get(BASE, params={"sort": "-name", "page_size": 3})).json()
    assert [d["name"] for d in listed["databases"]] == ["my-01", "my-00", "db-22"]
    unknown = await api.get("/api/v1/databases", params={"sort": "size"})
    assert unknown.status_code == 422
    assert "query.sort" in unknown.json()["error"]["details"]["fields"]


async def test_admins_and_domain_keys_see_across_projects_and_project_keys_go_to_theirs(
    platform: Platform,
) -> None:
    runtime, api, _ = platform
    await seed(runtime.store, 2, project="shop", prefix="shop")
    await seed(runtime.store, 1, project="blog", prefix="blog")
    await seed(runtime.store, 2, domain="globex", project="web", prefix="web")
    response = await api.post(
        "/api/v1/api-keys", json={"name": "acme owner", "role": "owner", "domain": "acme"}
    )
    owner_token = response.json()["secret"]
    _, project_token = await issue_key(api, role="viewer")
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        everything = await admin.get("/console/databases", params={"sort": "name"})
        assert tenants(everything.text) == {("acme", "shop"), ("acme", "blog"), ("globex", "web")}
        assert names(everything.text) == ["blog-00", "shop-00", "shop-01", "web-00", "web-01"]
        assert 'id="open-project"' in everything.text
        globex = await admin.get("/console/databases", params={"domain": "globex"})
        assert names(globex.text) == ["web-01", "web-00"]
        opened = await admin.get(
            "/console/databases", params={"domain": "acme", "project": "blog", "sort": "name"}
        )
        assert opened.status_code == 303
        assert opened.headers["location"] == "/console/domain/acme/project/blog/databases?sort=name"
    async with anonymous(api) as owner:
        await sign_in(owner, owner_token)
        own = await owner.get("/console/databases")
        assert tenants(own.text) == {("acme", "shop"), ("acme", "blog")}
        hidden = await owner.get("/console/databases", params={"domain": "globex"})
        assert hidden.status_code == 404 and "web-00" not in hidden.text
    async with anonymous(api) as viewer:
        await sign_in(viewer, project_token)
        sent = await viewer.get("/console/databases", params={"engine": "redis"})
        assert sent.status_code == 303
        assert sent.headers["location"] == f"{DATABASES}?engine=redis"


async def test_a_projects_operations_page_filters_pages_and_polls_only_while_one_is_active(
    platform: Platform,
) -> None:
    runtime, _, _ = platform
    orders, users = await seed(runtime.store, 2)
    for i in range(22):
        await an_operation(runtime.store, orders, "restart" if i % 2 else "pause", at=i)
    await an_operation(runtime.store, users, "restart", ended=False, at=30)
    other = (await seed(runtime.store, 1, project="blog", prefix="blog"))[0]
    await an_operation(runtime.store, other, "restart", at=40)
    async with anonymous(platform[1]) as admin:
        await sign_in(admin, ADMIN.text)
        first = await admin.get(OPERATIONS)
        assert first.status_code == 200
        assert "23 operations" in first.text  # not the other project's
        assert 'hx-trigger="every 2s"' in first.text  # the queued restart is listed
        assert first.text.index(f'href="{DATABASES}/{users.id}">db-01') < first.text.index(
            f'href="{DATABASES}/{orders.id}">db-00'
        )
        filtered = await admin.get(
            OPERATIONS, params={"type": "restart", "database": orders.id, "status": "succeeded"}
        )
        assert "11 operations" in filtered.text and "hx-trigger" not in filtered.text
        assert 'id="next"' not in filtered.text
        paused = await admin.get(OPERATIONS, params={"type": "pause", "page": "1"})
        assert "11 operations" in paused.text
        everything = await admin.get(OPERATIONS, params={"database": orders.id})
        assert f'id="next" rel="next" href="?database={orders.id}&amp;page=2"' in everything.text
        rest = await admin.get(f"{OPERATIONS}/rows", params={"database": orders.id, "page": 2})
        assert rest.text.count('<tr id="operation-') == 2 and "hx-trigger" not in rest.text
        bad = await admin.get(OPERATIONS, params={"status": "sleeping"})
        assert bad.status_code == 422 and "query.status" in bad.text


async def test_an_operations_database_beyond_the_filters_choices_is_still_named(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_operations, "DATABASE_CHOICES", 1)
    runtime, _, _ = platform
    _, later = await seed(runtime.store, 2)  # db-00 is the only choice offered
    await an_operation(runtime.store, later, "restart", at=1)
    async with anonymous(platform[1]) as admin:
        await sign_in(admin, ADMIN.text)
        page = await admin.get(OPERATIONS)
    assert f'href="{DATABASES}/{later.id}">db-01</a>' in page.text
    assert f'<option value="{later.id}"' not in page.text


async def test_an_operation_is_cancelled_from_the_page_and_a_viewers_forged_cancel_is_refused(
    platform: Platform,
) -> None:
    runtime, api, _ = platform
    database, ended_one = await seed(runtime.store, 2)
    active = await an_operation(runtime.store, database, "restart", ended=False)
    ended = await an_operation(runtime.store, ended_one, "restart")
    _, viewer_token = await issue_key(api, role="viewer")
    async with anonymous(api) as viewer:
        await sign_in(viewer, viewer_token)
        page = await viewer.get(OPERATIONS)
        assert f'id="operation-{active.id}"' in page.text
        assert "Cancel</button>" not in page.text
        forged = await viewer.post(
            f"{OPERATIONS}/{active.id}/cancel", data={"csrf": csrf_of(page.text)}
        )
        assert forged.status_code == 403 and "viewer" in forged.text
    assert (await api.get(f"/api/v1/operations/{active.id}")).json()["status"] == "queued"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = await admin.get(OPERATIONS)
        assert (
            f'id="cancel-{active.id}"' in page.text and f'id="cancel-{ended.id}"' not in page.text
        )
        csrf = csrf_of(page.text)
        too_late = await admin.post(f"{OPERATIONS}/{ended.id}/cancel", data={"csrf": csrf})
        assert too_late.status_code == 409 and 'id="problem"' in too_late.text
        elsewhere = await admin.post(
            f"/console/domain/acme/project/blog/operations/{active.id}/cancel", data={"csrf": csrf}
        )
        assert elsewhere.status_code == 404
        done = await admin.post(f"{OPERATIONS}/{active.id}/cancel", data={"csrf": csrf})
        assert done.status_code == 303 and done.headers["location"] == OPERATIONS

    async def cancelled() -> bool:
        found = await api.get(f"/api/v1/operations/{active.id}")
        return bool(found.json()["status"] == "cancelled")

    await eventually(cancelled, timeout=10, message="the operation cancelled")
