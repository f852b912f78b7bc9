"""`/api/v1/backup-storages` over HTTP: the app in-process with its real lifespan and store
(`platform`): the embedded `local` storage, credentials write-only and encrypted at rest,
one default, deletes refused while databases use a storage, admin keys only."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from app.domain.api_keys import Role
from app.domain.backups import Backup, BackupType
from app.domain.databases import Database
from app.services.api_keys import issue_key
from tests.e2e.platform import Platform

URL = "/api/v1/backup-storages"
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def s3_body(name: str = "archive", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "provider": "s3",
        "bucket": "dbaas-backups",
        "prefix": "eu",
        "region": "eu-west-1",
        "endpoint": "http://127.0.0.1:9000",
        "credentials": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRET},
    }
    body.update(changes)
    return body


def raw_documents(platform: Platform) -> str:
    runtime, _, _ = platform
    with sqlite3.connect(runtime.settings.sqlite_path) as db:
        return json.dumps([row[0] for row in db.execute("SELECT doc FROM backup_storages")])


async def test_the_embedded_local_storage_is_the_default_from_the_first_start(
    platform: Platform,
) -> None:
    runtime, client, _ = platform

    listed = (await client.get(URL)).json()
    local = (await client.get(f"{URL}/local")).json()

    assert listed["total"] == 1 and listed["backup_storages"] == [local]
    assert (local["provider"], local["default"], local["has_credentials"]) == (
        "local",
        True,
        False,
    )
    folder = Path(local["path"])
    assert folder == (runtime.settings.data_dir / "backups" / "local").resolve()
    mode = os.stat(folder).st_mode
    assert stat.S_ISDIR(mode) and stat.S_IMODE(mode) == 0o700


async def test_an_s3_storage_keeps_its_credentials_encrypted_and_never_shows_them(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, client, _ = platform

    created = await client.post(URL, json=s3_body())
    fetched = await client.get(f"{URL}/archive")
    listed = await client.get(URL)
    resolved = await runtime.backup_storages.resolve("archive")

    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{URL}/archive"
    body = created.json()
    assert body["id"].startswith("bst-")
    assert (body["has_credentials"], body["default"], body["path"]) == (True, False, None)
    for answer in (created, fetched, listed):
        assert SECRET not in answer.text and "AKIAEXAMPLE" not in answer.text
        assert '"credentials"' not in answer.text and "encrypted" not in answer.text
    stored = raw_documents(platform)
    assert "archive" in stored and SECRET not in stored and "AKIAEXAMPLE" not in stored
    record = await runtime.store.backup_storages.get_by_name("archive")
    assert record is not None and record.credentials_encrypted
    assert dict(resolved.credentials) == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT": "http://127.0.0.1:9000",
    }
    assert resolved.secret_name == "archive-backend"
    assert SECRET not in repr(resolved) and SECRET not in caplog.text


async def test_provider_rules_are_answered_422_naming_the_field(platform: Platform) -> None:
    _, client, _ = platform

    no_secret = await client.post(URL, json=s3_body(credentials={"access_key_id": "AKIAEXAMPLE"}))
    no_bucket = await client.post(URL, json=s3_body(bucket=None))
    wrong_kind = await client.post(
        URL,
        json=s3_body(
            name="gcs", provider="gcs", credentials={"project_id": "p", "account_key": "k"}
        ),
    )
    local_with_bucket = await client.post(
        URL, json={"name": "disk", "provider": "local", "bucket": "b"}
    )
    unknown_provider = await client.post(URL, json=s3_body(provider="ftp"))
    not_a_label = await client.post(URL, json=s3_body(name="Archive_1"))

    def fields(answer: Any) -> dict[str, str]:
        assert answer.status_code == 422, answer.text
        return dict(answer.json()["error"]["details"]["fields"])

    assert "credentials.secret_access_key" in fields(no_secret)
    assert "bucket" in fields(no_bucket)
    assert "credentials.account_key" in fields(wrong_kind)
    assert "bucket" in fields(local_with_bucket)
    assert any("provider" in f for f in fields(unknown_provider))
    assert any("name" in f for f in fields(not_a_label))
    assert (await client.get(URL)).json()["total"] == 1


async def test_the_default_moves_to_the_storage_made_default(platform: Platform) -> None:
    runtime, client, _ = platform
    await client.post(URL, json=s3_body("first"))

    made = await client.post(
        URL,
        json=s3_body(
            "second",
            provider="gcs",
            endpoint=None,
            credentials={"project_id": "acme", "service_account_json": '{"type": "x"}'},
            default=True,
        ),
    )
    back = await client.patch(f"{URL}/first", json={"default": True, "prefix": "moved"})
    unset = await client.patch(f"{URL}/first", json={"default": False})
    listed = (await client.get(URL)).json()["backup_storages"]
    default = await runtime.backup_storages.resolve(None)

    assert made.status_code == 201 and made.json()["default"] is True
    assert back.status_code == 200 and (back.json()["default"], back.json()["prefix"]) == (
        True,
        "moved",
    )
    assert unset.status_code == 422 and "default" in unset.json()["error"]["details"]["fields"]
    assert {s["name"]: s["default"] for s in listed} == {
        "first": True,
        "second": False,
        "local": False,
    }
    assert default.storage.name == "first"


async def test_a_storage_databases_use_is_not_deleted(platform: Platform) -> None:
    runtime, client, _ = platform
    await client.post(URL, json=s3_body())

    def database(name: str, storage: str | None) -> Database:
        return Database(
            name=name,
            domain="acme",
            project="shop",
            engine="postgres",
            version="16.13",
            backup_storage=storage,
        )

    used = await runtime.store.databases.insert(database("orders", "archive"))
    await runtime.store.databases.insert(database("users", None))
    named = await client.delete(f"{URL}/archive")
    await runtime.store.databases.update_fields(used.id, {"status": "deleted"})
    kept = await runtime.store.backups.insert(
        Backup(
            database_id=used.id,
            database_name="orders",
            domain="acme",
            project="shop",
            engine="postgres",
            provider_id="prv-1",
            namespace="acme-shop-123456",
            type=BackupType.FINAL,
            storage="archive",
            repository="orders-manual-abcdef",
        )
    )
    holding = await client.delete(f"{URL}/archive")
    await runtime.store.backups.update_fields(kept.id, {"removed_at": kept.created_at})
    freed = await client.delete(f"{URL}/archive")
    gone = await client.get(f"{URL}/archive")
    again = await client.delete(f"{URL}/archive")
    by_default = await client.delete(f"{URL}/local")

    assert named.status_code == 409, named.text
    assert named.json()["error"]["code"] == "backup_storage_in_use"
    assert "1 live database" in named.json()["error"]["message"]
    assert holding.status_code == 409 and holding.json()["error"]["details"] == {
        "databases": 0,
        "backups": 1,
    }
    assert freed.status_code == 204
    assert gone.status_code == 404 and "archive" in gone.json()["error"]["message"]
    assert again.status_code == 404
    assert by_default.status_code == 409 and by_default.json()["error"]["details"] == {
        "databases": 1,
        "backups": 0,
    }


async def test_a_storage_in_use_keeps_its_bucket_and_prefix_but_may_change_the_rest(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    await client.post(URL, json=s3_body())
    unused = await client.patch(f"{URL}/archive", json={"prefix": "moved"})
    await runtime.store.databases.insert(
        Database(
            name="orders",
            domain="acme",
            project="shop",
            engine="postgres",
            version="16.13",
            backup_storage="archive",
        )
    )
    bucket = await client.patch(f"{URL}/archive", json={"bucket": "elsewhere"})
    prefix = await client.patch(f"{URL}/archive", json={"prefix": "again", "region": "us-east-1"})
    same = await client.patch(f"{URL}/archive", json={"prefix": "moved"})
    region = await client.patch(f"{URL}/archive", json={"region": "us-east-2"})
    stored = (await client.get(f"{URL}/archive")).json()

    assert unused.status_code == 200, unused.text
    assert bucket.status_code == 409 and bucket.json()["error"]["code"] == "backup_storage_in_use"
    assert "bucket cannot change" in bucket.json()["error"]["message"]
    assert bucket.json()["error"]["details"] == {
        "databases": 1,
        "backups": 0,
        "fields": ["bucket"],
    }
    assert prefix.status_code == 409 and prefix.json()["error"]["details"]["fields"] == ["prefix"]
    assert same.status_code == 200 and region.status_code == 200
    assert (stored["bucket"], stored["prefix"], stored["region"]) == (
        s3_body()["bucket"],
        "moved",
        "us-east-2",
    )


async def test_the_default_is_deleted_only_when_it_is_the_last_storage(
    platform: Platform,
) -> None:
    _, client, _ = platform
    await client.post(URL, json=s3_body())

    refused = await client.delete(f"{URL}/local")
    await client.patch(f"{URL}/archive", json={"default": True})
    local_gone = await client.delete(f"{URL}/local")
    last_gone = await client.delete(f"{URL}/archive")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "backup_storage_is_default"
    assert (local_gone.status_code, last_gone.status_code) == (204, 204)
    assert (await client.get(URL)).json()["total"] == 0


async def test_names_are_unique_and_only_admin_keys_reach_storages(platform: Platform) -> None:
    runtime, client, _ = platform
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="acme")
    as_owner = {"Authorization": f"Bearer {owner.token}"}

    taken = await client.post(URL, json=s3_body("local"))
    listed = await client.get(URL, headers=as_owner)
    created = await client.post(URL, json=s3_body(), headers=as_owner)
    deleted = await client.delete(f"{URL}/local", headers=as_owner)

    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "backup_storage_name_taken"
    assert [r.status_code for r in (listed, created, deleted)] == [403] * 3
    assert (await client.get(URL)).json()["total"] == 1


async def test_changes_are_checked_paged_and_audited(platform: Platform) -> None:
    runtime, client, _ = platform
    await client.post(URL, json=s3_body("a"))
    await client.post(URL, json=s3_body("b"))

    page = (await client.get(URL, params={"page": 2, "page_size": 2})).json()
    rotated = await client.patch(
        f"{URL}/a",
        json={"credentials": {"access_key_id": "AKIANEW", "secret_access_key": "new-secret"}},
    )
    half = await client.patch(f"{URL}/a", json={"credentials": {"access_key_id": "AKIANEW"}})
    renamed = await client.patch(f"{URL}/a", json={"name": "c"})
    missing = await client.patch(f"{URL}/nowhere", json={"region": "x"})
    entries = (await client.get("/api/v1/audit", params={"target": "a"})).json()
    resolved = await runtime.backup_storages.resolve("a")

    assert (page["total"], [s["name"] for s in page["backup_storages"]]) == (3, ["local"])
    assert rotated.status_code == 200 and "new-secret" not in rotated.text
    assert resolved.credentials["AWS_SECRET_ACCESS_KEY"] == "new-secret"
    assert half.status_code == 422
    assert renamed.status_code == 422
    assert missing.status_code == 404 and "nowhere" in missing.json()["error"]["message"]
    actions = [(e["action"], e["outcome"]) for e in entries["entries"]]
    assert ("PATCH /api/v1/backup-storages/{storage_name}", 200) in actions
