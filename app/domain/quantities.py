"""Kubernetes quantities ("500m", "1Gi", "2.5e3", "1024Mi") as exact decimals.

Hand-written rather than taken from a cluster client: the domain imports no client library
(an import-linter contract), and the grammar is short. It follows Kubernetes'
`resource.Quantity` as the Kubernetes client's `parse_quantity` (which drift used before)
reads it, and its unit tests compare the two on many values (a sign before a bare fraction,
"-.5", is refused as that client refuses it, although Kubernetes accepts it; no CR we
compare holds one):

    quantity ::= number suffix
    number   ::= [+-] digits [. digits*] [e [+-] digits] | . digits [e [+-] digits]
    suffix   ::= "" | m | k | M | G | T | P | E | Z | Y   (powers of 1000; m is 1/1000)
               | Ki | Mi | Gi | Ti | Pi | Ei | Zi | Yi    (powers of 1024)

The value is rounded up to a thousandth (Kubernetes' smallest unit is the milli).
"""

from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal, InvalidOperation

_NUMBER = re.compile(r"([+-]?\d+(?:[.]\d*)?(?:e[+-]?\d+)?|[.]\d+(?:e[+-]?\d+)?)(.*)")
_DECIMAL = {"m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6, "Z": 7, "Y": 8}
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6, "Zi": 7, "Yi": 8}
MULTIPLIERS: dict[str, Decimal] = {
    **{suffix: Decimal(1000) ** power for suffix, power in _DECIMAL.items()},
    **{suffix: Decimal(1024) ** power for suffix, power in _BINARY.items()},
}
_MILLI = Decimal("0.001")


def parse(text: str) -> Decimal:
    """The quantity's value; `ValueError` for text that is not a quantity."""
    match = _NUMBER.match(text)
    if match is None:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = match.groups()
    multiplier = MULTIPLIERS.get(suffix)
    if multiplier is None:
        raise ValueError(f"not a quantity suffix: {suffix!r}")
    try:
        return (Decimal(number) * multiplier).quantize(_MILLI, rounding=ROUND_UP)
    except InvalidOperation as exc:  # too large to hold to a thousandth
        raise ValueError(f"quantity out of range: {text!r}") from exc
