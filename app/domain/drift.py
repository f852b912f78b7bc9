"""Drift: where a database CR's spec no longer says what the platform put there.

    find(expected, observed, container=...) -> [Drift(field, desired, observed, value)]

`expected` is the manifest the record describes (`database_cr.database_manifest`), so both
sides are compared in the cluster's own shape and units; `observed` is the CR as listed.
Fields compared, in the order a fix should take them (the update order, `halted` first
since a halted database takes no OpsRequest):

    halted      spec.halted
    storage     spec.storage.resources.requests.storage          (quantities, so 1Gi = 1024Mi)
    resources   podTemplate.spec.containers[<engine's>].resources (requests and limits)
    replicas    spec.replicas, or spec.cluster.{shards,replicas} for a Redis Cluster
    version     spec.version

`observed_part(cr)` is the part of a CR `find` reads on its observed side, in the CR's own
shape, so a pass can hold that instead of the whole object:
`find(e, observed_part(cr), container=c) == find(e, cr, container=c)` for every CR.

`Drift.value` is the observed value in the record's terms (bool, whole GB, int, version
name; resources keep the CR's map), for the operation that fixes it. Must not: decide how
to fix a drift (the reconciler does), touch the store or the cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.domain import quantities

GIB = Decimal(1024**3)
FIELDS = ("halted", "storage", "resources", "replicas", "version")


@dataclass(frozen=True, slots=True)
class Drift:
    field: str
    desired: str  # as a person reads it ("3", "20Gi", "cpu 500m, memory 1Gi")
    observed: str
    value: Any  # the observed value in the record's terms

    @property
    def text(self) -> str:
        return f"{self.field}: desired {self.desired}, observed {self.observed}"


def find(
    expected: Mapping[str, Any], observed: Mapping[str, Any], *, container: str
) -> list[Drift]:
    want, have = _spec(expected), _spec(observed)
    found: list[Drift] = []
    if bool(want.get("halted")) != bool(have.get("halted")):
        found.append(
            Drift(
                "halted",
                _flag(want.get("halted")),
                _flag(have.get("halted")),
                bool(have.get("halted")),
            )
        )
    found.extend(_storage(want, have))
    found.extend(_resources(want, have, container))
    found.extend(_replicas(want, have))
    if want.get("version") != have.get("version"):
        found.append(
            Drift(
                "version", str(want.get("version")), str(have.get("version")), have.get("version")
            )
        )
    return found


_STORAGE = ("storage", "resources", "requests", "storage")


def observed_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields of `obj` that `find` reads as its observed side (see the module)."""
    have = _spec(obj)
    spec: dict[str, Any] = {
        key: have[key] for key in ("halted", "version", "replicas") if key in have
    }
    storage = _get(have, *_STORAGE)
    if storage is not None:
        spec["storage"] = {"resources": {"requests": {"storage": storage}}}
    cluster = have.get("cluster")
    if isinstance(cluster, Mapping):
        spec["cluster"] = {key: cluster[key] for key in ("shards", "replicas") if key in cluster}
    containers = _get(have, "podTemplate", "spec", "containers")
    if isinstance(containers, Sequence):
        kept = [
            {key: item[key] for key in ("name", "resources") if key in item}
            for item in containers
            if isinstance(item, Mapping)
        ]
        spec["podTemplate"] = {"spec": {"containers": kept}}
    return {"spec": spec}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _get(value: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _flag(value: object) -> str:
    return "true" if value else "false"


def _quantity(text: object) -> Decimal | None:
    if not isinstance(text, str | int | float):
        return None
    return _parsed(str(text))


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Decimal | None:
    """A fleet has few distinct quantities: each is parsed once (a drift pass reads ten per
    database)."""
    try:
        return quantities.parse(text)
    except ValueError:
        return None


def _storage(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[Drift]:
    desired, observed = _get(want, *_STORAGE), _get(have, *_STORAGE)
    if desired is None or _quantity(desired) == _quantity(observed):
        return []
    amount = _quantity(observed)
    whole_gb = int(amount / GIB) if amount is not None else None
    return [Drift("storage", str(desired), str(observed), whole_gb)]


def _container(spec: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    containers = _get(spec, "podTemplate", "spec", "containers")
    if isinstance(containers, Sequence):
        for item in containers:
            if isinstance(item, Mapping) and item.get("name") == name:
                return item
    return {}


def _amounts(resources: object) -> dict[str, Decimal | None]:
    flat: dict[str, Decimal | None] = {}
    for kind in ("requests", "limits"):
        block = _get(resources, kind)
        if isinstance(block, Mapping):
            for resource, amount in block.items():
                flat[f"{kind}.{resource}"] = _quantity(amount)
    return flat


def _describe(resources: object) -> str:
    requests = _get(resources, "requests")
    if not isinstance(requests, Mapping) or not requests:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in sorted(requests.items()))


def _resources(want: Mapping[str, Any], have: Mapping[str, Any], name: str) -> list[Drift]:
    desired = _container(want, name).get("resources")
    observed = _container(have, name).get("resources")
    if desired is None or _amounts(desired) == _amounts(observed):
        return []
    return [Drift("resources", _describe(desired), _describe(observed), observed)]


def _replicas(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[Drift]:
    found = []
    for path in (("replicas",), ("cluster", "shards"), ("cluster", "replicas")):
        desired = _get(want, *path)
        if desired is None:
            continue
        observed = _get(have, *path)
        if observed != desired:
            field = "shards" if path[-1] == "shards" else "replicas"
            found.append(
                Drift(
                    field,
                    str(desired),
                    str(observed),
                    observed if isinstance(observed, int) else None,
                )
            )
    return found
