"""Which versions are offered, and which a database may be upgraded to."""

from __future__ import annotations

from typing import Any

from app.domain import catalog


def version(name: str, **spec: Any) -> catalog.CatalogVersion:
    body = {"version": spec.pop("version", name), **spec}
    return catalog.from_object({"metadata": {"name": name}, "spec": body})


MONGO = [
    version("6.0.24", updateConstraints={"allowlist": [">= 6.0.24, < 8.0.0"]}),
    version("7.0.28", updateConstraints={"allowlist": [">= 7.0.28, < 9.0.0"]}),
    version("8.0.10", updateConstraints={"allowlist": [">= 8.0.10, < 10.0.0"]}),
    version("8.0.17", updateConstraints={"allowlist": [">= 8.0.17, < 10.0.0"]}),
    version("4.2.24", deprecated=True),
    version("percona-8.0.17", version="8.0.17", distribution="Percona"),
]


def test_deprecated_versions_are_hidden_and_the_allow_list_filters() -> None:
    everything = [v.name for v in catalog.offered(MONGO, None)]
    allowed = [v.name for v in catalog.offered(MONGO, ["8.0.17", "4.2.24"])]

    assert "4.2.24" not in everything
    assert everything[0] in ("8.0.17", "percona-8.0.17")
    assert allowed == ["8.0.17"]


def test_upgrades_follow_the_allowlist_and_never_go_down() -> None:
    current = MONGO[2]  # 8.0.10

    targets = [v.name for v in catalog.upgrade_targets(current, MONGO)]

    assert targets == ["8.0.17", "percona-8.0.17"]


def test_an_empty_allowlist_admits_every_newer_version_and_the_denylist_wins() -> None:
    current = version("8.4.8", updateConstraints={"allowlist": [], "denylist": [">= 9.1.0"]})
    candidates = [version("8.4.8"), version("9.0.1"), version("9.1.0"), version("8.0.43")]

    assert [v.name for v in catalog.upgrade_targets(current, candidates)] == ["9.0.1"]


def test_mysql_lists_are_read_per_topology() -> None:
    current = version(
        "8.4.8",
        updateConstraints={
            "allowlist": {"standalone": [">= 8.4.8, < 9.0.0"], "groupReplication": [">= 9.0.0"]},
        },
    )
    candidates = [version("8.4.9"), version("9.1.0")]

    standalone = catalog.upgrade_targets(current, candidates)
    group = catalog.upgrade_targets(current, candidates, topology="GroupReplication")

    assert [v.name for v in standalone] == ["8.4.9"]
    assert [v.name for v in group] == ["9.1.0"]


def test_a_variant_of_the_same_version_is_not_an_upgrade() -> None:
    current = version("16.13")
    candidates = [current, version("16.13-bookworm", version="16.13"), version("17.6")]

    assert [v.name for v in catalog.upgrade_targets(current, candidates)] == ["17.6"]
