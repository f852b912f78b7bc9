"""Point-in-time recovery through the API (issue 16): `pitr_enabled`, the restore window and
`restore_from {database_id, point_in_time}`, against the simulator's KubeDB archiver model
(the PITR contract, docs/architecture.md decision 69).

The refusals run on any simulator. The tests that need the archiver kinds
(`archiver.kubedb.com`: a real PostgreSQL archiving its WAL, the incremental Snapshot's
window, a recovery to a time) skip, saying so, on a simulator that does not serve them."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config.settings import Settings
from simulator.errors import NotFound as SimulatorNotFound
from simulator.server import Served
from tests.e2e.platform import BASE, Platform, create, finished, running
from tests.e2e.test_data_through_the_api import credentials, real_database, sql, succeeded
from tests.support import eventually

pytestmark = pytest.mark.slow

ARCHIVERS = "kubedb-dbaas-backup"


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path, backup_sync_interval=0.5) as started:
        yield started


def needs_archivers(served: Served) -> None:
    try:
        served.client().resource("postgresarchivers")
    except SimulatorNotFound:
        pytest.skip("this simulator serves no archiver.kubedb.com kinds (the PITR contract)")


async def rows_of(client: httpx.AsyncClient, path: str, statement: str) -> list[Any]:
    return await sql((await credentials(client, path))["connection_string"], statement)


async def window_reaching(client: httpx.AsyncClient, path: str, moment: datetime) -> dict[str, Any]:
    """The restore window once its `latest` has passed `moment` (the WAL shipped)."""

    async def reached() -> dict[str, Any] | None:
        answer = await client.get(f"{path}/restore-window")
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "no_restore_window", answer.text
            return None
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body if _time(body["latest"]) >= moment else None

    return await eventually(reached, timeout=60, interval=0.5, message=f"window past {moment}")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_pitr_on_an_engine_without_an_archiver_is_refused_naming_the_engine(
    platform: Platform,
) -> None:
    _, client, _ = platform
    at_create = await create(client, name="cache-1", engine="redis", pitr_enabled=True)
    created = await create(client, name="cache-2", engine="redis")
    await succeeded(client, created)
    path = f"{BASE}/{created.json()['id']}"

    patched = await client.patch(path, json={"pitr_enabled": True})

    for refused in (at_create, patched):
        assert refused.status_code == 422, refused.text
        assert "redis has no continuous archiving (no archiver)" in refused.text
    body = (await client.get(path)).json()
    assert body["pitr_enabled"] is False and body["status"] == "running"


async def test_point_in_time_requests_on_a_database_without_pitr_are_refused_naming_why(
    platform: Platform,
) -> None:
    _, client, _ = platform
    created = await create(client, name="ledger")
    await succeeded(client, created)
    source_id = created.json()["id"]
    path = f"{BASE}/{source_id}"
    moment = datetime.now(UTC).isoformat()

    window = await client.get(f"{path}/restore-window")
    recovered = await create(
        client, name="ledger-then", restore_from={"database_id": source_id, "point_in_time": moment}
    )
    in_place = await client.post(f"{path}/restore", json={"point_in_time": moment})

    assert window.status_code == 409 and window.json()["error"]["code"] == "pitr_not_enabled"
    assert "pitr_enabled is off" in window.json()["error"]["message"]
    assert recovered.status_code == 422 and recovered.json()["error"]["code"] == "pitr_not_enabled"
    assert in_place.status_code == 422 and in_place.json()["error"]["code"] == "pitr_in_place"
    assert "point-in-time restores create a new database" in in_place.json()["error"]["message"]
    assert "restore_from {database_id, point_in_time}" in in_place.json()["error"]["message"]
    assert {d["name"] for d in (await client.get(BASE)).json()["databases"]} == {"ledger"}


async def test_a_database_with_pitr_is_created_whether_or_not_the_cluster_archives(
    platform: Platform,
) -> None:
    """A cluster without the archiver kinds is logged and left, like one without KubeStash:
    the database runs, says pitr_enabled, and its window is a 409 naming why until the
    archive has one."""
    _, client, _ = platform
    created = await create(client, name="ledger", pitr_enabled=True)
    await succeeded(client, created)
    path = f"{BASE}/{created.json()['id']}"
    later = await create(client, name="journal")
    await succeeded(client, later)
    turned_on = await client.patch(f"{BASE}/{later.json()['id']}", json={"pitr_enabled": True})
    await succeeded(client, turned_on)

    body = (await client.get(path)).json()
    window = await client.get(f"{path}/restore-window")

    assert body["pitr_enabled"] is True and body["status"] == "running"
    assert (await client.get(f"{BASE}/{later.json()['id']}")).json()["pitr_enabled"] is True
    assert window.status_code in (200, 409), window.text
    if window.status_code == 409:
        assert window.json()["error"]["code"] == "no_restore_window"
    else:
        assert _time(window.json()["earliest"]) <= _time(window.json()["latest"])


async def test_pitr_puts_the_database_under_its_storages_archiver_and_off_takes_it_out(
    platform: Platform,
) -> None:
    _, client, served = platform
    needs_archivers(served)
    created = await create(client, name="ledger", pitr_enabled=True)
    await succeeded(client, created)
    path = f"{BASE}/{created.json()['id']}"
    namespace = (await client.get(path)).json()["namespace"]
    cluster = served.client()

    archiver = await cluster.find("postgresarchivers", "local-postgres", namespace=ARCHIVERS)
    opted_in = await cluster.find("postgreses", "ledger", namespace=namespace)
    turned_off = await client.patch(path, json={"pitr_enabled": False})
    await succeeded(client, turned_off)
    opted_out = await cluster.find("postgreses", "ledger", namespace=namespace)

    assert archiver is not None
    assert archiver["spec"]["backupStorage"] == {
        "ref": {"name": "local", "namespace": ARCHIVERS},
        "subDir": "pitr",
    }
    assert archiver["spec"]["databases"]["selector"] == {
        "matchLabels": {"dbaas.io/archiver": "local"}
    }
    assert opted_in is not None and opted_in["metadata"]["labels"]["dbaas.io/archiver"] == "local"
    assert opted_in["spec"]["archiver"]["ref"] == {"name": "local-postgres", "namespace": ARCHIVERS}
    assert opted_out is not None
    assert "dbaas.io/archiver" not in opted_out["metadata"]["labels"]
    assert "archiver" not in opted_out["spec"]
    assert (await client.get(path)).json()["pitr_enabled"] is False
    refused = await client.get(f"{path}/restore-window")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "pitr_not_enabled"


async def test_a_point_in_time_restore_holds_exactly_the_rows_written_before_that_time(
    platform: Platform,
) -> None:
    _, client, served = platform
    needs_archivers(served)
    served.simulator.config.update({"real_databases": 2})
    path = await real_database(client, name="ledger", pitr_enabled=True)
    source_id = path.rsplit("/", 1)[1]
    # The window opens with the first full backup, taken once the database is archived.
    opened = await window_reaching(client, path, datetime.fromtimestamp(0, tz=UTC))
    await rows_of(client, path, "create table entries (n int)")
    await rows_of(client, path, "insert into entries values (1), (2)")
    # T: the next whole second after the rows committed (by the server's clock), so a
    # restore reaches them however finely it reads T, and nothing written after T.
    committed = (await rows_of(client, path, "select clock_timestamp()"))[0][0]
    moment = datetime.fromtimestamp(math.floor(committed.timestamp()) + 1, tz=UTC)

    async def past_t() -> bool | None:
        now = (await rows_of(client, path, "select clock_timestamp()"))[0][0]
        return True if now > moment else None

    await eventually(past_t, timeout=5, interval=0.05, message=f"the server's clock past {moment}")
    await rows_of(client, path, "insert into entries values (3)")
    await rows_of(client, path, "drop table entries")
    window = await window_reaching(client, path, moment)
    too_late = _time(window["latest"]) + timedelta(days=1)

    outside = await create(
        client,
        name="ledger-late",
        restore_from={"database_id": source_id, "point_in_time": too_late.isoformat()},
    )
    recovered = await create(
        client,
        name="ledger-then",
        restore_from={"database_id": source_id, "point_in_time": moment.isoformat()},
    )
    operation = await finished(client, recovered)
    copy = f"{BASE}/{recovered.json()['id']}"

    assert outside.status_code == 422, outside.text
    assert outside.json()["error"]["code"] == "outside_restore_window"
    assert window["earliest"] in outside.text and window["latest"] in outside.text
    assert operation["status"] == "succeeded", operation["error_message"]
    assert _time(window["earliest"]) <= moment <= _time(window["latest"])
    assert window["earliest"] == opened["earliest"]
    assert window["gaps"] == []
    assert await rows_of(client, copy, "select n from entries order by n") == [(1,), (2,)]
    assert await rows_of(client, path, "select to_regclass('entries') is null") == [(True,)]
