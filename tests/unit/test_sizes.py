"""Size plans: the bundled table, parsing operator-supplied tables, Kubernetes resources."""

from __future__ import annotations

import itertools
import json

import pytest

from app.domain import errors, sizes
from app.domain.sizes import SizePlan


def test_the_bundled_table_offers_micro_to_2xlarge_with_the_apis_figures() -> None:
    table = sizes.default_size_table()

    assert table.names == (
        "db.t3.micro",
        "db.t3.small",
        "db.t3.medium",
        "db.t3.large",
        "db.t3.xlarge",
        "db.t3.2xlarge",
    )
    micro, largest = table.get("db.t3.micro"), table.get("db.t3.2xlarge")
    assert (micro.cpu, micro.memory_gib) == (0.5, 1)
    assert (largest.cpu, largest.memory_gib) == (8, 32)
    assert table.default == micro


def test_plans_grow_along_the_table() -> None:
    plans = list(sizes.default_size_table())

    assert all(a.memory_mib < b.memory_mib for a, b in itertools.pairwise(plans))
    assert all(a.cpu_millicores <= b.cpu_millicores for a, b in itertools.pairwise(plans))


def test_a_plan_becomes_requests_equal_to_limits() -> None:
    micro = sizes.default_size_table().get("db.t3.micro")

    assert sizes.resources(micro) == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    }


@pytest.mark.parametrize(
    ("millicores", "mib", "cpu", "memory"),
    [
        (500, 1024, "500m", "1Gi"),
        (1000, 2048, "1", "2Gi"),
        (1500, 1536, "1500m", "1536Mi"),
        (8000, 32768, "8", "32Gi"),
        (250, 512, "250m", "512Mi"),
    ],
)
def test_quantities_are_whole_units_when_they_can_be(
    millicores: int, mib: int, cpu: str, memory: str
) -> None:
    plan = SizePlan("p", cpu_millicores=millicores, memory_mib=mib)

    assert (plan.cpu_quantity, plan.memory_quantity) == (cpu, memory)


def test_an_unknown_size_is_refused_naming_the_plans_on_offer() -> None:
    with pytest.raises(errors.UnknownSize) as caught:
        sizes.default_size_table().get("db.m5.huge")

    assert caught.value.field == "size"
    assert "db.t3.micro" in caught.value.message and "db.m5.huge" in caught.value.message


def test_an_operator_table_is_parsed_with_the_same_rules() -> None:
    text = json.dumps(
        {
            "default": "tiny",
            "plans": [
                {"name": "tiny", "cpu": 0.25, "memory_gib": 0.5},
                {"name": "big", "cpu": 16, "memory_gib": 64},
            ],
        }
    )

    table = sizes.parse_size_table(text)

    assert table.default == SizePlan("tiny", cpu_millicores=250, memory_mib=512)
    assert table.get("big").cpu_quantity == "16"


def test_without_a_default_the_first_plan_is_the_default() -> None:
    text = json.dumps({"plans": [{"name": "a", "cpu": 1, "memory_gib": 1}]})

    assert sizes.parse_size_table(text).default_name == "a"


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ({"plans": []}, "non-empty list"),
        ({"plans": [{"name": "a", "cpu": 1, "memory_gib": 1}] * 2}, "duplicate plan names"),
        ({"default": "b", "plans": [{"name": "a", "cpu": 1, "memory_gib": 1}]}, "default 'b'"),
        ({"plans": [{"name": "a", "cpu": 0, "memory_gib": 1}]}, "cpu"),
        ({"plans": [{"name": "a", "cpu": 0.0005, "memory_gib": 1}]}, "whole millicores"),
        ({"plans": [{"name": "a", "cpu": 1, "memory_gib": -1}]}, "memory_gib"),
        ({"plans": [{"name": "a", "cpu": True, "memory_gib": 1}]}, "must be a number"),
        ({"plans": [{"name": "a", "cpu": "1", "memory_gib": 1}]}, "must be a number"),
        ({"plans": [{"name": "A B", "cpu": 1, "memory_gib": 1}]}, "'name'"),
        ({"plans": [{"name": "a", "cpu": 1, "memory_gib": 1, "gpu": 1}]}, "unknown keys"),
        ({"plans": ["a"]}, "JSON object"),
    ],
)
def test_a_broken_table_is_refused_saying_what_is_wrong(document: object, complaint: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)

    with pytest.raises(errors.InvalidConfiguration) as caught:
        sizes.parse_size_table(text, source="sizes.json")

    assert complaint in caught.value.message
    assert caught.value.source.startswith("sizes.json")


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(errors.InvalidConfiguration):
        sizes.parse_size_table('{"plans": [{"name": "a", "cpu": NaN, "memory_gib": 1}]}')


def test_plans_are_frozen_values() -> None:
    plan = sizes.default_size_table().default

    with pytest.raises(AttributeError):
        plan.cpu_millicores = 1  # type: ignore[misc]
