"""The administration commands of `kdb` (providers, quotas, API keys, the audit log),
`db status` and shell completion, run as a user runs them (the installed console script, a
process of its own) against the app and the simulator on a real port."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.conftest import KDB, Kdb, as_admin
from tests.serving import Served

README = Path(__file__).resolve().parents[2] / "README.md"


def test_provider_list_shows_the_local_provider_and_a_kubeconfig_file_is_never_echoed(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)
    listed = kdb("provider", "list", **env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:2] == ["NAME", "REGION"]
    assert "local" in listed.stdout.split()

    kubeconfig = served.data_dir.parent / "kubeconfig"
    created = kdb(
        "provider", "create", "second", "--region", "us-east", "--kubeconfig", str(kubeconfig),
        "--cpu-total-cores", "8", "--memory-total-gb", "32", "--storage-total-gb", "500",
        "-o", "json", **env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    assert (shown["name"], shown["connection"]) == ("second", "kubeconfig")
    secret_part = json.loads(kubeconfig.read_text())["users"][0]["user"]
    assert all(str(v) not in created.stdout for v in secret_part.values())

    changed = kdb("provider", "update", "second", "--priority", "5", "--query", "priority", **env)
    assert (changed.returncode, changed.stdout.strip()) == (0, "5"), changed.stderr
    deleted = kdb("provider", "delete", "second", **env)
    assert deleted.returncode == 0, deleted.stderr
    assert kdb("provider", "get", "second", **env).returncode == 3


def test_quota_set_changes_only_the_limits_given_and_get_shows_them_beside_the_usage(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)
    first = kdb("quota", "set", "--max-databases", "40", **env)
    assert first.returncode == 0, first.stderr
    second = kdb("quota", "set", "--max-cpu-cores", "64", "-o", "json", **env)
    assert second.returncode == 0, second.stderr

    got = kdb("quota", "get", "-o", "json", **env)

    assert got.returncode == 0, got.stderr
    domain, project = json.loads(got.stdout)
    assert (domain["domain"], domain["project"], project["project"]) == ("acme", None, "shop")
    assert project["quota"]["max_databases"] == 40
    assert project["quota"]["max_cpu_cores"] == 64
    assert domain["quota"]["max_databases"] is None
    assert "databases" in project["usage"]
    lifted = kdb("quota", "set", "--max-databases", "unlimited", "--query", "[0].quota", **env)
    assert json.loads(lifted.stdout) == {
        "max_databases": None,
        "max_cpu_cores": 64.0,
        "max_memory_gb": None,
        "max_storage_gb": None,
    }


def test_a_created_key_works_until_revoked_and_the_audit_log_lists_its_creation(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)
    created = kdb(
        "key", "create", "ci", "--role", "member", "--for-domain", "acme", "--for-project",
        "shop", **env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1 and secret
    assert "shown only once" in created.stderr
    key_id = created.stderr.split()[1]
    assert kdb("db", "list", **(env | {"KDB_API_KEY": secret})).returncode == 0

    revoked = kdb("key", "revoke", key_id, "--query", "status", **env)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "revoked"), revoked.stderr
    refused = kdb("db", "list", **(env | {"KDB_API_KEY": secret}))
    assert refused.returncode == 5
    assert refused.stderr.startswith("error: unauthorized: ")

    logged = kdb("audit", "--outcome", "201", "--page-size", "100", "-o", "json", **env)
    assert logged.returncode == 0, logged.stderr
    assert "POST /api/v1/api-keys" in [entry["action"] for entry in json.loads(logged.stdout)]


def test_a_member_key_is_refused_the_providers_with_exit_5(served: Served, kdb: Kdb) -> None:
    with served.api() as api:
        body = {"name": "dev", "role": "member", "domain": "acme", "project": "shop"}
        member = api.post("/api/v1/api-keys", json=body).json()["secret"]

    refused = kdb("provider", "list", **(as_admin(served) | {"KDB_API_KEY": member}))

    assert refused.returncode == 5
    assert refused.stderr.startswith("error: forbidden: ")
    assert len(refused.stderr.splitlines()) == 1


def test_a_database_name_is_completed_from_the_api_and_its_status_shown(
    served: Served, kdb: Kdb
) -> None:
    env = as_admin(served)
    with served.api() as api:
        body = {"name": "orders-eu", "engine": "redis", "version": "8.2.2"}
        made = api.post("/api/v1/domain/acme/project/shop/databases", json=body)
        assert made.status_code == 202, made.text

    completing = {
        "_KDB_COMPLETE": "bash_complete",
        "COMP_WORDS": "kdb db get or",
        "COMP_CWORD": "3",
    }
    offered = kdb(**(env | completing))
    assert offered.returncode == 0, offered.stderr
    assert "plain,orders-eu" in offered.stdout.splitlines()
    silent = kdb(**(env | completing | {"KDB_URL": "http://127.0.0.1:9"}))
    assert (silent.returncode, silent.stdout.strip(), silent.stderr) == (0, "", "")

    status = kdb("db", "status", "orders-eu", "-o", "json", **env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["id"] == made.json()["id"]
    live = kdb("db", "status", "orders-eu", "--realtime", "-o", "json", **env)
    assert live.returncode == 0, live.stderr
    assert json.loads(live.stdout)["id"] == made.json()["id"]
    wide = kdb("db", "status", "orders-eu", "-o", "wide", **env)
    assert wide.returncode == 0, wide.stderr
    assert "CONDITIONS" in wide.stdout and "Ready=True" in wide.stdout


def test_kdb_completion_bash_prints_a_script_bash_parses(kdb: Kdb) -> None:
    printed = kdb("completion", "bash")

    assert printed.returncode == 0, printed.stderr
    assert "_KDB_COMPLETE=bash_complete" in printed.stdout
    parsed = subprocess.run(["bash", "-n"], input=printed.stdout, text=True, capture_output=True)
    assert parsed.returncode == 0, parsed.stderr


def readme_admin_block() -> str:
    section = README.read_text().split("\n## Command-line client (kdb)\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return section.split("```sh\n")[2].split("```", 1)[0]


def test_the_readme_admin_block_runs_as_written(served: Served, kdb: Kdb) -> None:
    script = readme_admin_block().replace("kdb ", f"{KDB} ")

    ran = subprocess.run(
        ["bash", "-e", "-c", script],
        env=kdb.env | as_admin(served),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert ran.returncode == 0, ran.stderr
    assert "local" in ran.stdout and "acme" in ran.stdout
