"""Drift between the manifest a record describes and the CR the cluster has."""

from __future__ import annotations

import copy
from typing import Any

from app.domain import drift, sizes
from app.domain.manifests import database_cr, desired

TABLE = sizes.default_size_table()


def manifest(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(
        database_id="db-abc12345",
        domain="acme",
        project="shop",
        engine="postgres",
        name="orders",
        namespace="acme-shop-123abc",
        version="16.13",
        size=TABLE.get("db.t3.micro"),
        storage_gb=20,
        high_availability=True,
        replicas=3,
    )
    values.update(changes)
    return database_cr.database_manifest(desired.DesiredDatabase(**values))


def test_a_cr_as_the_record_describes_it_has_no_drift_even_in_other_units() -> None:
    observed = copy.deepcopy(manifest())
    observed["spec"]["storage"]["resources"]["requests"]["storage"] = "20480Mi"
    observed["status"] = {"phase": "Ready"}

    assert drift.find(manifest(), observed, container="postgres") == []


def test_every_field_is_found_in_the_order_a_fix_takes_them() -> None:
    observed = manifest(
        replicas=5, version="16.10", storage_gb=50, halted=True, size=TABLE.get("db.t3.large")
    )

    found = drift.find(manifest(), observed, container="postgres")

    assert [d.field for d in found] == ["halted", "storage", "resources", "replicas", "version"]
    values = {d.field: d.value for d in found}
    assert (values["halted"], values["storage"], values["replicas"], values["version"]) == (
        True,
        50,
        5,
        "16.10",
    )
    texts = {d.field: d.text for d in found}
    assert texts["replicas"] == "replicas: desired 3, observed 5"
    assert texts["storage"] == "storage: desired 20Gi, observed 50Gi"
    assert "cpu" in texts["resources"] and "memory" in texts["resources"]


def test_a_field_missing_from_the_cr_is_drift_with_no_usable_value() -> None:
    observed = manifest()
    del observed["spec"]["replicas"]

    (found,) = drift.find(manifest(), observed, container="postgres")

    assert (found.field, found.observed, found.value) == ("replicas", "None", None)


def test_the_observed_part_of_a_cr_finds_the_same_drift_as_the_whole_cr() -> None:
    drifted = manifest(
        replicas=5, version="16.10", storage_gb=50, halted=True, size=TABLE.get("db.t3.large")
    )
    drifted["status"] = {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]}
    odd_shapes: list[dict[str, Any]] = [
        {},
        {"spec": "not a mapping"},
        {"spec": {"podTemplate": {"spec": {"containers": "postgres"}}, "cluster": 3}},
        {"spec": {"podTemplate": {"spec": {"containers": [{"name": "postgres"}, "x"]}}}},
        {"spec": {"storage": {"resources": {"requests": {}}}, "halted": 1, "replicas": True}},
        {"spec": {"cluster": {"shards": 3, "replicas": 2, "other": 1}, "version": None}},
    ]
    for observed in [manifest(), drifted, *odd_shapes]:
        part = drift.observed_part(observed)
        for expected in (manifest(), manifest(engine="redis", name="cache")):
            assert drift.find(expected, part, container="postgres") == drift.find(
                expected, observed, container="postgres"
            )
    assert "status" not in drift.observed_part(drifted)
    assert "monitor" not in drift.observed_part(drifted)["spec"]
