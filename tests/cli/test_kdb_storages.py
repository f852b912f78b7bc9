"""`kdb backup-storage` run as a user runs it (the installed console script, a process of its
own) against the app and the simulator on a real port: a storage made, listed, changed and
deleted, its credentials read from standard input and never printed, the API's 409 and 403
as exits 4 and 5."""

from __future__ import annotations

import json

from tests.cli.conftest import Kdb, as_admin
from tests.serving import Served

SECRET = "wJalrXUtnFEMI-never-shown"


def test_a_storage_is_created_listed_changed_and_deleted_and_its_secret_never_printed(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)
    local = kdb("backup-storage", "create", "spare", "--kind", "local", "-o", "json", **env)
    assert local.returncode == 0, local.stderr
    made = json.loads(local.stdout)
    assert (made["provider"], made["default"], made["has_credentials"]) == ("local", False, False)
    assert made["path"].endswith("spare")

    credentials = json.dumps({"access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRET})
    s3 = kdb(
        "backup-storage", "create", "offsite", "--kind", "s3", "--bucket", "dbaas-backups",
        "--endpoint", "https://s3.example.com", "--credentials-file", "-", "--query",
        "has_credentials", input=credentials, **env,
    )  # fmt: skip
    assert (s3.returncode, s3.stdout.strip()) == (0, "True"), s3.stderr

    listed = kdb("backup-storage", "list", "-o", "json", **env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["offsite"]["bucket"] == "dbaas-backups" and rows["local"]["default"] is True
    assert SECRET not in listed.stdout + s3.stdout + s3.stderr
    assert "AKIAEXAMPLE" not in listed.stdout

    changed = kdb("backup-storage", "update", "spare", "--prefix", "nightly", "-o", "json", **env)
    assert changed.returncode == 0, changed.stderr
    assert (json.loads(changed.stdout)["prefix"], json.loads(changed.stdout)["name"]) == (
        "nightly",
        "spare",
    )

    refused = kdb("backup-storage", "delete", "local", **env)
    assert refused.returncode == 4
    assert refused.stderr.startswith("error: backup_storage_") and refused.stderr.count("\n") == 1

    for name in ("offsite", "spare"):
        deleted = kdb("backup-storage", "delete", name, **env)
        assert deleted.returncode == 0, deleted.stderr
    gone = kdb("backup-storage", "get", "spare", **env)
    assert gone.returncode == 3 and gone.stderr.startswith("error: not_found: "), gone.stderr


def test_a_member_key_is_refused_the_storages_with_exit_5(served: Served, kdb: Kdb) -> None:
    with served.api() as api:
        body = {"name": "dev", "role": "member", "domain": "acme", "project": "shop"}
        member = api.post("/api/v1/api-keys", json=body).json()["secret"]

    refused = kdb("backup-storage", "list", **(as_admin(served) | {"KDB_API_KEY": member}))

    assert refused.returncode == 5
    assert refused.stderr.startswith("error: forbidden: ")
