"""Label and field selectors, parsed from query strings and matched against stored objects.

Label selectors follow the Kubernetes grammar: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
`k notin (a)`, `k` (exists), `!k` (does not exist), `k>1`/`k<1`; a comma means AND. Field
selectors support what every resource supports, `metadata.name` and `metadata.namespace`,
plus the fields events and pods add (`involvedObject.name`, `status.phase`, ...), with `=`,
`==` and `!=`. Anything else is a 400, as the real server answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from simulator import errors
from simulator.objects import Obj, labels_of

Op = Literal["=", "!=", "in", "notin", "exists", "!", "gt", "lt"]

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_SET = re.compile(r"^(?P<key>[^\s!=<>(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQUALITY = re.compile(r"^(?P<key>[^\s!=<>(),]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=<>(),]*)$")
_ORDER = re.compile(r"^(?P<key>[^\s!=<>(),]+)\s*(?P<op>[<>])\s*(?P<value>-?\d+)$")
_EXISTS = re.compile(r"^(?P<bang>!)?\s*(?P<key>[^\s!=<>(),]+)$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: Op
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        if self.op in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            actual = int(labels[self.key])
        except ValueError:
            return False
        bound = int(next(iter(self.values)))
        return actual > bound if self.op == "gt" else actual < bound


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text or not text.strip():
            return cls()
        return cls(tuple(_parse_requirement(part.strip()) for part in _split(text)))


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _bad(part: str, why: str) -> errors.BadRequest:
    return errors.BadRequest(f"unable to parse requirement: {part!r}: {why}")


def _check(part: str, key: str, values: list[str]) -> None:
    if len(key.rpartition("/")[2]) > 63 or not _KEY.match(key):
        raise _bad(part, f"invalid label key {key!r}")
    for value in values:
        if len(value) > 63 or not _VALUE.match(value):
            raise _bad(part, f"invalid label value {value!r}")


def _parse_requirement(part: str) -> Requirement:
    if not part:
        raise _bad(part, "empty requirement")
    if match := _SET.match(part):
        key, op = match["key"], match["op"]
        values = [v.strip() for v in match["values"].split(",")]
        if values == [""]:
            raise _bad(part, "for 'in', 'notin' operators, values set can't be empty")
        _check(part, key, values)
        return Requirement(key, "in" if op == "in" else "notin", frozenset(values))
    if match := _EQUALITY.match(part):
        key, value = match["key"], match["value"]
        _check(part, key, [value])
        return Requirement(key, "!=" if match["op"] == "!=" else "=", frozenset([value]))
    if match := _ORDER.match(part):
        _check(part, match["key"], [])
        return Requirement(
            match["key"], "gt" if match["op"] == ">" else "lt", frozenset([match["value"]])
        )
    if match := _EXISTS.match(part):
        _check(part, match["key"], [])
        return Requirement(match["key"], "!" if match["bang"] else "exists")
    raise _bad(part, "found an unexpected token")


_FIELDS = ("metadata.name", "metadata.namespace")
_KIND_FIELDS = {
    # What `kubectl describe` asks of events, and the usual pod fields.
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "type",
        "reportingComponent",
    ),
    "Pod": ("status.phase", "spec.nodeName", "spec.serviceAccountName"),
    # The token controller follows only token Secrets, as Kubernetes' does.
    "Secret": ("type",),
}
_FIELD_TERM = re.compile(r"^(?P<field>[^=!]+?)\s*(?P<op>==|=|!=)\s*(?P<value>.*)$")


def _field(obj: Obj, path: str) -> str:
    value: object = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...] = ()
    """(field, equal?, value)"""

    def matches(self, obj: Obj) -> bool:
        return all((_field(obj, field) == value) == equal for field, equal, value in self.terms)

    def name(self) -> str | None:
        """The one name this selector pins (`metadata.name=x`), if any."""
        return next((v for f, eq, v in self.terms if f == "metadata.name" and eq), None)

    @classmethod
    def parse(cls, text: str | None, kind: str = "") -> FieldSelector:
        if not text or not text.strip():
            return cls()
        terms = []
        for part in text.split(","):
            match = _FIELD_TERM.match(part.strip())
            if not match:
                raise errors.BadRequest(f"invalid selector: {text!r}; can't understand {part!r}")
            field = match["field"].strip()
            if field not in _FIELDS and field not in _KIND_FIELDS.get(kind, ()):
                raise errors.BadRequest(f"field label not supported: {field}")
            terms.append((field, match["op"] != "!=", match["value"].strip()))
        return cls(tuple(terms))


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    """A label selector and a field selector together, as lists and watches take them."""

    labels: LabelSelector = LabelSelector()
    fields: FieldSelector = FieldSelector()

    @property
    def everything(self) -> bool:
        return not self.labels.requirements and not self.fields.terms

    def matches(self, obj: Obj) -> bool:
        return self.fields.matches(obj) and self.labels.matches(labels_of(obj))

    @classmethod
    def parse(
        cls, label_selector: str | None, field_selector: str | None, kind: str = ""
    ) -> ObjectFilter:
        """`kind` admits that kind's own field labels (events: `involvedObject.name`, ...)."""
        return cls(LabelSelector.parse(label_selector), FieldSelector.parse(field_selector, kind))


EVERYTHING = ObjectFilter()
"""The filter that matches every object."""
