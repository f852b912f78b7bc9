"""Size plans (`db.t3.micro` … `db.t3.2xlarge`): the one size table and its Kubernetes view.

The API says the table is configuration, not code: the default lives in
`app/domain/data/sizes.json` (shipped as package data), and `parse_size_table` turns any such
text into frozen `SizePlan` values, so an operator-supplied file goes through the same rules.
Every other view of a plan (the `GET /sizes` body, container resources in a manifest, the
VerticalScaling OpsRequest) is derived from a `SizePlan` here.

File format:

    {"default": "db.t3.micro",
     "plans": [{"name": "db.t3.micro", "cpu": 0.5, "memory_gib": 1}, ...]}

`cpu` is in cores (whole millicores), `memory_gib` in GiB (whole MiB). Resources are given as
requests equal to limits, for CPU and memory alike: a plan is a guarantee (Guaranteed QoS, no
eviction under node pressure), not a hint. The only read in this module is of the bundled
default file, once; it must not read anything else, nor know where an operator's file lives
(that is configuration's job).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from app.domain import errors

DEFAULT_TABLE_RESOURCE = "data/sizes.json"
_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class SizePlan:
    name: str
    cpu_millicores: int
    memory_mib: int

    @property
    def cpu(self) -> float:
        """Cores, as the API shows them (0.5, 1, 2, ...)."""
        return self.cpu_millicores / 1000

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024

    @property
    def cpu_quantity(self) -> str:
        """Kubernetes quantity: `500m`, `1`, `2500m`."""
        whole, rest = divmod(self.cpu_millicores, 1000)
        return str(whole) if rest == 0 else f"{self.cpu_millicores}m"

    @property
    def memory_quantity(self) -> str:
        """Kubernetes quantity: `1Gi`, `512Mi`, `1536Mi`."""
        whole, rest = divmod(self.memory_mib, 1024)
        return f"{whole}Gi" if rest == 0 else f"{self.memory_mib}Mi"


@dataclass(frozen=True, slots=True)
class SizeTable:
    plans: tuple[SizePlan, ...]
    default_name: str

    def __iter__(self) -> Iterator[SizePlan]:
        return iter(self.plans)

    def __len__(self) -> int:
        return len(self.plans)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.plans)

    @property
    def default(self) -> SizePlan:
        return self.get(self.default_name)

    def get(self, name: str, *, field: str = "size") -> SizePlan:
        """The plan called `name`; raises `UnknownSize` naming the offered plans."""
        for plan in self.plans:
            if plan.name == name:
                return plan
        raise errors.UnknownSize(
            field, f"size must be one of {', '.join(self.names)}, not {name!r}"
        )


def resources(plan: SizePlan) -> dict[str, dict[str, str]]:
    """Container `resources` for a plan: requests equal to limits (Guaranteed QoS)."""
    amounts = {"cpu": plan.cpu_quantity, "memory": plan.memory_quantity}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def parse_size_table(text: str, *, source: str = "size table") -> SizeTable:
    """Parse the JSON size table; raises `InvalidConfiguration` naming what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise errors.InvalidConfiguration(source, f"not valid JSON: {e}") from e
    if not isinstance(document, Mapping):
        raise errors.InvalidConfiguration(source, "must be a JSON object")
    raw_plans = document.get("plans")
    if not isinstance(raw_plans, list) or not raw_plans:
        raise errors.InvalidConfiguration(source, "'plans' must be a non-empty list")
    plans = tuple(
        _parse_plan(raw, source=f"{source}: plans[{i}]") for i, raw in enumerate(raw_plans)
    )
    names = [p.name for p in plans]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise errors.InvalidConfiguration(source, f"duplicate plan names {duplicates}")
    default = document.get("default", names[0])
    if default not in names:
        raise errors.InvalidConfiguration(source, f"default {default!r} is not one of the plans")
    return SizeTable(plans=plans, default_name=default)


@functools.cache
def default_size_table() -> SizeTable:
    """The bundled table (read once from package data)."""
    bundled = importlib.resources.files("app.domain").joinpath(DEFAULT_TABLE_RESOURCE)
    text = bundled.read_text("utf-8")
    return parse_size_table(text, source=DEFAULT_TABLE_RESOURCE)


def _parse_plan(raw: object, *, source: str) -> SizePlan:
    if not isinstance(raw, Mapping):
        raise errors.InvalidConfiguration(source, "a plan must be a JSON object")
    unknown = sorted(set(raw) - {"name", "cpu", "memory_gib"})
    if unknown:
        raise errors.InvalidConfiguration(source, f"unknown keys {unknown}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise errors.InvalidConfiguration(
            source, f"'name' must be lowercase letters, digits, '.' or '-', not {name!r}"
        )
    millicores = _whole(
        raw.get("cpu"),
        scale=1000,
        what="cpu (cores, whole millicores)",
        source=f"{source} ({name})",
    )
    mib = _whole(
        raw.get("memory_gib"),
        scale=1024,
        what="memory_gib (GiB, whole MiB)",
        source=f"{source} ({name})",
    )
    return SizePlan(name=name, cpu_millicores=millicores, memory_mib=mib)


def _whole(value: object, *, scale: int, what: str, source: str) -> int:
    """`value * scale` as a positive whole number, from an exact decimal reading of `value`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.InvalidConfiguration(source, f"{what} must be a number, not {value!r}")
    scaled = Decimal(str(value)) * scale  # str(): 0.1 stays 0.1, not its binary neighbour
    if not scaled.is_finite() or scaled <= 0 or scaled != scaled.to_integral_value():
        raise errors.InvalidConfiguration(source, f"{what} must be positive, got {value!r}")
    return int(scaled)
