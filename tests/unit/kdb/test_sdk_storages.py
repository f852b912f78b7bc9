"""The backup-storage calls of the SDK over a fake transport (httpx.MockTransport): the paths
and bodies they send, answers kept whole, a 409 as the conflict `kdb` exits 4 with; and the
CLI's credentials, read from a JSON file or refused without a terminal to ask on."""

from __future__ import annotations

import json
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from kdb.cli import main, storage_commands
from kdb.cli.context import CliError
from kdb.sdk import Client, errors

STORAGE = {
    "id": "bst-1",
    "name": "offsite",
    "provider": "s3",
    "bucket": "b",
    "prefix": "",
    "region": None,
    "endpoint": None,
    "path": None,
    "default": False,
    "has_credentials": True,
    "status": "Ready",
}


def test_create_update_and_list_send_the_storages_paths_and_only_the_fields_given() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            page = {"backup_storages": [STORAGE], "total": 1, "page": 1, "page_size": 20}
            return httpx.Response(200, json=page)
        return httpx.Response(201 if request.method == "POST" else 200, json=STORAGE)

    with Client("http://api", "k", http=httpx.MockTransport(answer)) as api:
        created = api.backup_storages.create(
            "offsite", "s3", bucket="b", credentials={"access_key_id": "a"}
        )
        api.backup_storages.update("offsite", prefix="eu")
        listed = api.backup_storages.list()

    assert (seen[0].method, seen[0].url.path) == ("POST", "/api/v1/backup-storages")
    assert json.loads(seen[0].content) == {
        "name": "offsite",
        "provider": "s3",
        "bucket": "b",
        "credentials": {"access_key_id": "a"},
    }
    assert (seen[1].method, seen[1].url.path) == ("PATCH", "/api/v1/backup-storages/offsite")
    assert json.loads(seen[1].content) == {"prefix": "eu"}
    assert created.has_credentials and created.to_json()["status"] == "Ready"
    assert [s.name for s in listed.items] == ["offsite"] and listed.total == 1


def test_deleting_a_storage_in_use_is_a_conflict_the_cli_exits_4_with() -> None:
    refusal = {
        "error": {
            "code": "backup_storage_in_use",
            "message": "backup storage offsite is used by 1 database",
            "details": {"databases": ["db-1"]},
        }
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json=refusal)

    with (
        Client("http://api", "k", http=httpx.MockTransport(answer)) as api,
        pytest.raises(errors.Conflict) as caught,
    ):
        api.backup_storages.delete("offsite")

    assert caught.value.code == "backup_storage_in_use"
    assert caught.value.details == {"databases": ["db-1"]}
    assert main.exit_code(caught.value) == 4
    assert main.exit_code(errors.Forbidden(403, "forbidden", "admin only")) == 5


def test_a_credentials_file_is_a_json_object_and_a_gcs_key_file_is_sent_as_its_text(
    tmp_path: Path,
) -> None:
    given = tmp_path / "gcs.json"
    given.write_text(json.dumps({"project_id": "p", "service_account_json": {"type": "sa"}}))

    read = storage_commands.read_credentials(str(given))

    assert read == {"project_id": "p", "service_account_json": '{"type": "sa"}'}


@pytest.mark.parametrize("text", ["access_key_id=a", "[]", "{}"])
def test_a_credentials_file_that_is_not_a_json_object_is_a_usage_error(
    tmp_path: Path, text: str
) -> None:
    given = tmp_path / "credentials"
    given.write_text(text)

    with pytest.raises(CliError, match="JSON object") as caught:
        storage_commands.read_credentials(str(given))

    assert (caught.value.code, caught.value.exit_code) == ("bad_credentials", 2)


def test_a_cloud_storage_without_credentials_off_a_terminal_is_refused_before_any_call() -> None:
    ran = CliRunner().invoke(
        main.cli,
        ["backup-storage", "create", "offsite", "--kind", "s3", "--bucket", "b"],
        env={"KDB_URL": "http://127.0.0.1:9", "KDB_API_KEY": "k"},
        standalone_mode=False,
    )

    assert isinstance(ran.exception, click.UsageError)
    assert "--credentials-file" in str(ran.exception)
