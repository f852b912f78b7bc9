"""The pure parts of the administration commands: a quota's limits merged with the current
ones, a provider's body from the flags (the kubeconfig file read), the paging hint, usage
beside a limit, and completion that offers nothing when the API cannot answer."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from kdb.cli import admin_columns, completion, paging, provider_commands, tenant_commands
from kdb.cli.context import CliError, State


def test_quota_set_keeps_the_limits_not_given_and_lifts_the_unlimited_ones() -> None:
    current = {"max_databases": 5, "max_cpu_cores": 8.0, "max_memory_gb": None}

    merged = tenant_commands.merged(
        current, {"max_cpu_cores": "unlimited", "max_storage_gb": "100", "max_memory_gb": None}
    )

    assert merged == {
        "max_databases": 5,
        "max_cpu_cores": None,
        "max_memory_gb": None,
        "max_storage_gb": 100.0,
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [("many", "not a whole number"), ("2.5", "not a whole number"), ("-1", "negative")],
)
def test_a_limit_that_is_not_a_count_is_a_usage_error(text: str, says: str) -> None:
    with pytest.raises(click.BadParameter, match=says) as caught:
        tenant_commands.merged({}, {"max_databases": text})

    assert caught.value.param_hint == "--max-databases"


def test_a_provider_body_carries_the_kubeconfig_files_content(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")

    body = provider_commands.body(
        {"region": "eu", "priority": None}, kubeconfig, ("a", "b"), ("team=db",)
    )

    assert body == {
        "region": "eu",
        "kubeconfig_content": "apiVersion: v1\n",
        "tags": ["a", "b"],
        "metadata": {"team": "db"},
    }


def test_a_provider_body_takes_one_way_to_the_cluster_only(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")

    with pytest.raises(click.UsageError, match="give one of"):
        provider_commands.body({"api_endpoint": "https://k8s"}, kubeconfig, (), ())
    with pytest.raises(CliError, match="cannot read") as caught:
        provider_commands.body({}, tmp_path / "missing", (), ())
    assert caught.value.exit_code == 2


def test_the_paging_hint_names_the_next_page_until_the_last() -> None:
    assert paging.more(1, 20, 20, 45) == "20 of 45: --page 2 for more"
    assert paging.more(3, 20, 5, 45) is None


def test_usage_is_shown_beside_its_limit_or_a_dash_when_unlimited() -> None:
    assert admin_columns.limit(2, 5) == "2/5"
    assert admin_columns.limit(0.5, None) == "0.5/-"


def _context(env: dict[str, str]) -> click.Context:
    ctx = click.Context(click.Command("kdb"))
    ctx.obj = State(env=env | {"XDG_CONFIG_HOME": "/nonexistent"})
    return ctx


def test_completion_offers_no_names_when_the_api_does_not_answer() -> None:
    env = {"KDB_URL": "http://127.0.0.1:9", "KDB_API_KEY": "k"}
    env |= {"KDB_DOMAIN": "acme", "KDB_PROJECT": "shop"}
    argument = click.Argument(["name"])

    assert completion._complete(_context(env), argument, "or") == []
    assert completion.database_names(_context({"KDB_URL": "http://x"}), "or") == []
