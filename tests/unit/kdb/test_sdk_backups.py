"""The SDK's backups over a fake transport: the paths and bodies it sends, the backup id of a
backup taken now, and a delete's `final_backup` query kept on the wire."""

from __future__ import annotations

import json

import httpx
import pytest

from kdb.sdk import Client
from kdb.sdk.backups import restore_from
from tests.unit.kdb.test_sdk import DATABASE


def test_a_delete_with_a_final_backup_sends_the_query_and_a_backup_taken_names_its_id() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={**DATABASE, "backup_id": "bkp-1"})

    with Client("http://api", "secret", http=httpx.MockTransport(answer)) as api:
        api.databases("acme", "shop").delete("db-1", final_backup=True)
        taken = api.backups("acme", "shop").take("db-1")
        api.backups("acme", "shop").restore("db-1", "bkp-1")

    assert seen[0].url.params["final_backup"] == "true"
    assert seen[1].url.path == "/api/v1/domain/acme/project/shop/databases/db-1/backups"
    assert (taken.backup_id, taken.operation_id) == ("bkp-1", "op-1")
    assert json.loads(seen[2].content) == {"backup_id": "bkp-1"}


def test_restore_from_takes_exactly_one_source_of_data() -> None:
    assert restore_from("db-1", latest=True) == {"database_id": "db-1", "latest": True}
    assert restore_from("db-1", point_in_time="2026-01-02T03:04:05+00:00")["point_in_time"] == (
        "2026-01-02T03:04:05+00:00"
    )
    with pytest.raises(ValueError):
        restore_from("db-1", backup_id="bkp-1", latest=True)
