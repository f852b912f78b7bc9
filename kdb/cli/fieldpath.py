"""`-o jsonpath=PATH` and `--query PATH`: one value picked out of a JSON answer.

Written here rather than taken from jsonpath-ng: what a script asks of one answer is a
dotted, indexed path (`status`, `.items[0].name`, kubectl's `{.status.phase}`), which is
ten lines; jsonpath-ng brings a parser generator (ply) and filter grammar nobody here needs.

    resolve({"a": [{"b": 1}]}, "{.a[0].b}")  ->  1
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")


class PathError(ValueError):
    """The path is malformed or leads nowhere in this answer."""


def steps(path: str) -> list[str | int]:
    """The keys and indexes of a path; `$`, `{}` and a leading dot are optional."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    found: list[str | int] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise PathError(f"cannot read the path {path!r} at {text[position:]!r}")
        key, index = match.groups()
        found.append(int(index) if index is not None else key)
        position = match.end()
    return found


def resolve(data: Any, path: str) -> Any:
    value = data
    for step in steps(path):
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise PathError(f"{path!r}: nothing at {step!r}") from None
    return value
