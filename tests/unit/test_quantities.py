"""The domain's own quantity parser reads every quantity as lightkube's `parse_quantity` does
(the reference it replaces: the domain may not import a cluster client)."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from lightkube.utils.quantity import parse_quantity

from app.domain import quantities

NUMBERS = [
    "0", "1", "-1", "+1", "7", "10", "100", "1024", "123456789", "0.5", ".5", "1.", "1.5",
    "-2.25", "+0.001", "0.0001", "0.0005", "3.14159", "1e3", "1e-3", "2.5e2", "-1e1", ".5e1",
    "1e+2", "007", "1e0", "999999999999",
]  # fmt: skip
SUFFIXES = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi"]
NOT_QUANTITIES = [
    "", " ", "abc", "Gi", "1 Gi", " 1", "1 ", "1g", "1KI", "1ki", "1E3", "--1", "1..5", "-.5",
    "+.5", "1e", "e3", "1.5.5", "1Gii", "0x10", "1_000", "1e99999", "1e400Yi", "1Mi1",
]  # fmt: skip


def _reference(text: str) -> Decimal | None:
    try:
        parsed: Decimal | None = parse_quantity(text)
    except ValueError:
        return None
    return parsed


def _ours(text: str) -> Decimal | None:
    try:
        return quantities.parse(text)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "text", [n + s for n, s in itertools.product(NUMBERS, SUFFIXES)] + NOT_QUANTITIES
)
def test_the_parser_agrees_with_lightkube_on_a_quantity(text: str) -> None:
    assert _ours(text) == _reference(text)


def test_the_parser_agrees_with_lightkube_on_random_quantities() -> None:
    rng = random.Random(13)
    alphabet = "0123456789.e+-mkMGTPEZYKi "
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    texts += [f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 6)}f}{rng.choice(SUFFIXES)}"
              for _ in range(3000)]  # fmt: skip

    disagree = [t for t in texts if _ours(t) != _reference(t)]

    assert disagree == []
    assert sum(_ours(t) is not None for t in texts) > 3000  # most are valid: not a vacuous test


def test_equal_amounts_in_different_units_are_equal() -> None:
    assert quantities.parse("1Gi") == quantities.parse("1024Mi") == Decimal(1024**3)
    assert quantities.parse("500m") == Decimal("0.5")
    assert quantities.parse("0.0001") == Decimal("0.001")  # rounded up to the milli
    with pytest.raises(ValueError, match="not a quantity suffix"):
        quantities.parse("1Gb")
