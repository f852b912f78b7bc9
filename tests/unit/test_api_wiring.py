"""One typed wiring (issue 13, deliverable 5): the API reaches services through one frozen
`Services` object and typed dependencies; routers call services, never the store."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "app" / "api"

# What a router reaching past the services would write. (The filters it builds,
# `app.store.protocols.DatabaseFilter` and friends, are values, not the store.)
_BYPASS = re.compile(r"app\.state|auth\.store\(|\bStore\b|(?<!app)\.store\b|_store\(")


def _sources(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(API)): p.read_text() for p in sorted(folder.rglob("*.py"))}


def test_no_router_reads_app_state_or_the_store() -> None:
    found = {
        name: [line.strip() for line in text.splitlines() if _BYPASS.search(line)]
        for name, text in _sources(API / "v1").items()
    }

    assert {name: lines for name, lines in found.items() if lines} == {}


def test_only_the_wiring_module_touches_the_app_state() -> None:
    touching = sorted(
        name for name, text in _sources(API).items() if "app.state" in text or '.state, "' in text
    )

    assert touching == ["wiring.py"]


def test_the_services_object_is_a_frozen_dataclass() -> None:
    from app.api import wiring

    assert dataclasses.is_dataclass(wiring.Services)
    params = wiring.Services.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
