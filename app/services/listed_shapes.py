"""The narrow shapes a pass decodes listed objects into, and what it reads from them.

    reader = ListedReader()
    page = msgspec.json.decode(body, type=...list of DatabaseCR...)   (the gateway does this)
    reader.observed(cr)   -> (number, ObservedDatabase)   == status_mapping.observe_database
    reader.spec(cr)       -> (number, part, JSON text)     == drift.observed_part and its text
    reader.binding(ab)    -> data_plane.Binding            == data_plane.parse

A pass over 100,000 CRs read each as a whole object (every field decoded into dicts, then
reduced); these shapes name only the fields the passes read, so the rest of each object is
skipped by the decoder, and the fields a reduce depends on stay raw JSON (`msgspec.Raw`)
until needed. Most of a fleet shares its status and the shape of its spec, so each reduce
runs once per distinct raw input (memoised, bounded) and the decoded values are handed to
the domain's own functions: what comes out is exactly what they return for the whole
object. A field of a type other than the shape says (a malformed object) fails the page's
decode; the gateway then decodes that page whole and the dict reduce reads it, as before.

Must not: interpret a field itself (the domain's functions do), or hold a listed object.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec

from app.domain import data_plane, drift, status_mapping
from app.domain.manifests import labels

# Distinct raw inputs remembered per kind of reduce; past it the memo starts afresh (a
# fleet whose statuses all differ, e.g. by a condition's time, costs a reduce each, as
# before, and never more memory than this).
MEMO_LIMIT = 20_000
_ABSENT = msgspec.Raw()  # a field not in the object (JSON null is the raw text `null`)
_decode = msgspec.json.decode


class Labels(msgspec.Struct, gc=False):
    database_id: str | None = msgspec.field(name=labels.DATABASE_ID_KEY, default=None)
    domain: str | None = msgspec.field(name=labels.DOMAIN_KEY, default=None)
    project: str | None = msgspec.field(name=labels.PROJECT_KEY, default=None)


class Metadata(msgspec.Struct, gc=False):
    name: str | None = None
    namespace: str | None = None
    labels: Labels | None = None
    generation: msgspec.Raw = _ABSENT


class Status(msgspec.Struct, gc=False):
    phase: msgspec.Raw = _ABSENT
    observedGeneration: msgspec.Raw = _ABSENT
    conditions: msgspec.Raw = _ABSENT


class Spec(msgspec.Struct, gc=False):
    """The spec fields `drift.observed_part` reads."""

    halted: msgspec.Raw = _ABSENT
    version: msgspec.Raw = _ABSENT
    replicas: msgspec.Raw = _ABSENT
    storage: msgspec.Raw = _ABSENT
    cluster: msgspec.Raw = _ABSENT
    podTemplate: msgspec.Raw = _ABSENT


class DatabaseCR(msgspec.Struct, gc=False):
    """A KubeDB database CR as the passes read it."""

    kind: str | None = None
    metadata: Metadata | None = None
    status: Status | None = None
    spec: Spec | None = None


class Annotations(msgspec.Struct, gc=False):
    mode: str | None = msgspec.field(name=data_plane.MODE_ANNOTATION, default=None)
    server_version: str | None = msgspec.field(
        name=data_plane.SERVER_VERSION_ANNOTATION, default=None
    )


class BindingMetadata(msgspec.Struct, gc=False):
    name: str | None = None
    namespace: str | None = None
    annotations: Annotations | None = None


class ClientConfig(msgspec.Struct, gc=False):
    url: str | None = None


class BindingSpec(msgspec.Struct, gc=False):
    clientConfig: ClientConfig | None = None


class AppBindingCR(msgspec.Struct, gc=False):
    metadata: BindingMetadata | None = None
    spec: BindingSpec | None = None


NO_METADATA = Metadata()
NO_LABELS = Labels()
_NO_STATUS = Status()
_NO_SPEC = Spec()
_SPEC_FIELDS = ("halted", "version", "replicas", "storage", "cluster", "podTemplate")


def _present(pairs: Any) -> dict[str, Any]:
    """The fields given as (name, raw) that the object has, decoded."""
    return {name: _decode(raw) for name, raw in pairs if raw}


class ListedReader:
    """The reduces of the narrow shapes, each memoised by its raw input. One per
    `ClusterView`: kept across passes (a steady fleet hits every time), bounded."""

    __slots__ = ("_bindings", "_count", "_numbers", "_observed", "_specs")

    def __init__(self) -> None:
        self._observed: dict[tuple[bytes, ...], tuple[int, status_mapping.ObservedDatabase]] = {}
        self._specs: dict[tuple[bytes, ...], tuple[int, dict[str, Any], str]] = {}
        self._bindings: dict[tuple[str | None, ...], data_plane.Binding] = {}
        # A number per distinct value (equal observed statuses from different raw texts
        # share one), so that a listing can key its rows on small ints. Never reused: after
        # the memo starts afresh an equal value may get a new number, never a number that
        # stood for another value.
        self._numbers: dict[Any, int] = {}
        self._count = itertools.count()

    def _number(self, value: Any) -> int:
        if len(self._numbers) > MEMO_LIMIT:
            self._numbers.clear()
        found = self._numbers.get(value)
        if found is None:
            found = self._numbers[value] = next(self._count)
        return found

    def observed(self, cr: DatabaseCR) -> tuple[int, status_mapping.ObservedDatabase]:
        status = cr.status or _NO_STATUS
        generation = (cr.metadata or NO_METADATA).generation
        key = (
            bytes(status.phase),
            bytes(status.observedGeneration),
            bytes(status.conditions),
            bytes(generation),
        )
        found = self._observed.get(key)
        if found is None:
            observed = status_mapping.observe_database(
                {
                    "status": _present(
                        (
                            ("phase", status.phase),
                            ("observedGeneration", status.observedGeneration),
                            ("conditions", status.conditions),
                        )
                    ),
                    "metadata": _present((("generation", generation),)),
                }
            )
            if len(self._observed) > MEMO_LIMIT:
                self._observed.clear()
            found = self._observed[key] = (self._number(("observed", observed)), observed)
        return found

    def spec(self, cr: DatabaseCR) -> tuple[int, dict[str, Any], str]:
        """`drift.observed_part` of the CR, its JSON text (equal exactly when the parts are)
        and a number per distinct text."""
        spec = cr.spec or _NO_SPEC
        raws = tuple(getattr(spec, name) for name in _SPEC_FIELDS)
        key = tuple(map(bytes, raws))
        found = self._specs.get(key)
        if found is None:
            part = drift.observed_part({"spec": _present(zip(_SPEC_FIELDS, raws, strict=True))})
            text = json.dumps(part, separators=(",", ":"))
            if len(self._specs) > MEMO_LIMIT:
                self._specs.clear()
            found = self._specs[key] = (self._number(("spec", text)), part, text)
        return found

    def binding(self, cr: AppBindingCR) -> data_plane.Binding:
        annotations = (cr.metadata.annotations if cr.metadata else None) or Annotations()
        config = (cr.spec.clientConfig if cr.spec else None) or ClientConfig()
        key = (annotations.mode, annotations.server_version, config.url)
        found = self._bindings.get(key)
        if found is None:
            found = data_plane.parse(
                {
                    "metadata": {
                        "annotations": {
                            data_plane.MODE_ANNOTATION: annotations.mode,
                            data_plane.SERVER_VERSION_ANNOTATION: annotations.server_version,
                        }
                    },
                    "spec": {"clientConfig": {"url": config.url}},
                }
            )
            if len(self._bindings) > MEMO_LIMIT:
                self._bindings.clear()
            self._bindings[key] = found
        return found
