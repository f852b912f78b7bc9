"""The metric names: documented in the README exactly as the code registers them."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.metrics_core import Metric

from app.cluster import errors
from app.observability.metrics import Metrics, outcome_of

ROOT = Path(__file__).resolve().parents[2]


def exposed_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        assert isinstance(family, Metric)
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def test_the_readme_lists_every_series_and_no_other() -> None:
    rows = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("| `dbaas_")
    ]
    documented = {name for row in rows for name in re.findall(r"`(dbaas_\w+)`", row.split("|")[1])}

    assert documented == exposed_names()


def test_an_outcome_is_ok_or_the_error_kind_in_snake_case() -> None:
    assert outcome_of(None) == "ok"
    assert outcome_of(errors.NotFound("gone")) == "not_found"
    assert outcome_of(errors.AlreadyExists("there")) == "already_exists"
    assert outcome_of(errors.Unavailable("down")) == "unavailable"


def test_http_methods_outside_the_standard_ones_share_one_label() -> None:
    metrics = Metrics()
    for method in ("GET", "BREW", "WHEN"):
        metrics.http_request("/health", method, 200, 0.001)

    def count(method: str) -> float | None:
        labels = {"route": "/health", "method": method, "status": "200"}
        return metrics.registry.get_sample_value("dbaas_http_requests_total", labels)

    assert (count("GET"), count("OTHER"), count("BREW")) == (1, 2, None)
