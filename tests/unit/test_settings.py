"""Settings: defaults, one-line errors naming the variable, and .env.example kept in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cluster.config import ClusterConnection
from app.cluster.lightkube_config import to_lightkube
from app.config.settings import ConfigError, LogFormat, Settings, load_settings
from app.main import cluster_connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()

    assert settings.reconcile_interval == 300
    assert settings.num_operation_workers == 3
    assert settings.status_sync_interval == 30
    assert settings.mongodb_url is None and settings.redis_url is None
    assert settings.leader_lease_ttl == 30 and settings.leader_retry_interval == 5
    assert settings.port == 8000
    assert settings.operation_read_block == 1
    assert settings.operation_concurrency == 8
    assert settings.log_format is LogFormat.CONSOLE
    assert settings.instance_id


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUM_OPERATION_WORKERS", "5")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("MONGODB_URL", "")

    settings = load_settings()

    assert settings.num_operation_workers == 5
    assert settings.log_format is LogFormat.JSON
    assert settings.log_level == "DEBUG"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.mongodb_url is None


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("NUM_OPERATION_WORKERS", "0", "greater than or equal to 1"),
        ("NUM_OPERATION_WORKERS", "three", "valid integer"),
        ("OPERATION_CONCURRENCY", "0", "greater than or equal to 1"),
        ("OPERATION_CONCURRENCY", "257", "less than or equal to 256"),
        ("OPERATION_CONCURRENCY", "eight", "valid integer"),
        ("PORT", "70000", "less than or equal to 65535"),
        ("LEADER_LEASE_TTL", "-1", "greater than 0"),
        ("LOG_FORMAT", "xml", "'console' or 'json'"),
        ("LOG_LEVEL", "loud", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("MONGODB_URL", "postgres://u:secret@h/db", "must start with mongodb://"),
        ("REDIS_URL", "http://u:secret@h", "must start with redis://"),
        ("ACCESS_LOG", "sometimes", "valid boolean"),
        ("ACCESS_LOG_SAMPLE", "1.5", "less than or equal to 1"),
        ("AUTH_CACHE_TTL", "-1", "greater than or equal to 0"),
        ("AUTH_CACHE_TTL", "3600", "less than or equal to 60"),
        ("CLUSTER_RECENT_WRITES_TTL", "-1", "greater than or equal to 0"),
        ("CLUSTER_RECENT_WRITES_TTL", "3601", "less than or equal to 3600"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_rule(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, rule: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    message = str(caught.value)
    assert "\n" not in message
    assert f"{variable}: " in message and rule in message
    assert "secret" not in message  # values are never echoed


def test_a_retry_interval_not_shorter_than_the_lease_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADER_LEASE_TTL", "5")
    monkeypatch.setenv("LEADER_RETRY_INTERVAL", "5")

    with pytest.raises(ConfigError, match="LEADER_RETRY_INTERVAL: must be shorter than"):
        load_settings()


def test_the_pods_own_cluster_and_a_kubeconfig_are_not_both_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLUSTER_IN_CLUSTER", "true")
    monkeypatch.setenv("CLUSTER_KUBECONFIG", "/etc/kubeconfig")

    with pytest.raises(ConfigError, match="CLUSTER_IN_CLUSTER: set either it or"):
        load_settings()


def test_in_cluster_the_service_account_and_the_kubelets_address_are_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("the-token")
    (account / "namespace").write_text("kubedb-dbaas")
    (account / "ca.crt").write_text("")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("CLUSTER_IN_CLUSTER", "true")

    connection = cluster_connection(load_settings())
    assert connection is not None
    config = to_lightkube(ClusterConnection.in_cluster(str(account))).get()

    assert connection == ClusterConnection.in_cluster()
    assert config.cluster.server == "https://10.96.0.1:443"
    assert config.namespace == "kubedb-dbaas"


def test_every_setting_is_documented_in_env_example_and_nothing_else_is() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))

    assert documented == {name.upper() for name in Settings.model_fields}


def test_env_example_values_are_themselves_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / ".env.example").read_text()
    for name, value in re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE):
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.port == 8000 and settings.instance_id  # empty INSTANCE_ID -> hostname
