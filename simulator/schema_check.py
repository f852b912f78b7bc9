"""The schema step of a write: the kinds that have a structural schema, and what a create,
update or patch of one of them gets from it, as the API server answers for custom
resources.

Order, as in the API server: unknown fields are found and pruned while the body is decoded
(`fieldValidation`: `Strict` refuses them with 400 BadRequest `strict decoding error`,
`Warn`, the server's default, answers with one `Warning: 299 - "unknown field \"spec.x\""`
header each, `Ignore` drops them silently); then the object is validated against the
schema (422 Invalid with one cause per field, the real wording) before any admission
webhook sees it. Kinds without a registered schema pass untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from simulator import errors, schema
from simulator.registry import ResourceType


class FieldValidation(StrEnum):
    IGNORE = "Ignore"
    WARN = "Warn"
    STRICT = "Strict"

    @classmethod
    def parse(cls, raw: str | None) -> FieldValidation:
        """The `fieldValidation` query parameter; absent means Warn (the server default)."""
        if not raw:
            return cls.WARN
        try:
            return cls(raw)
        except ValueError:
            supported = ", ".join(f'"{v.value}"' for v in cls)
            raise errors.BadRequest(
                f'fieldValidation: Unsupported value: "{raw}": supported values: {supported}'
            ) from None


@dataclass(frozen=True, slots=True)
class KindSchema:
    group: str
    version: str
    kind: str
    document: Mapping[str, Any]
    """The OpenAPI v3 schema as served (without apiVersion/kind/metadata, added on serving)."""
    root: schema.Node


class Schemas:
    """Structural schemas by (group, version, kind)."""

    def __init__(self) -> None:
        self._by_gvk: dict[tuple[str, str, str], KindSchema] = {}

    def register(self, group: str, version: str, kind: str, document: Mapping[str, Any]) -> None:
        """Validate writes of this kind against `document` (an object schema)."""
        self._by_gvk[(group, version, kind)] = KindSchema(
            group, version, kind, document, schema.compile_schema(document)
        )

    def get(self, group: str, version: str, kind: str) -> KindSchema | None:
        return self._by_gvk.get((group, version, kind))

    def __iter__(self) -> Iterator[KindSchema]:
        return iter(self._by_gvk.values())

    def enforce(
        self,
        rt: ResourceType,
        document: dict[str, Any],
        *,
        directive: FieldValidation,
        warnings: list[str] | None,
        patch: bool = False,
    ) -> None:
        """Prune and validate `document` (changed in place); raise what the server answers;
        append the `Warning` texts under `Warn`."""
        found = self._by_gvk.get((rt.group, rt.version, rt.kind))
        if found is None:
            return
        outcome = schema.check(found.root, document)
        if outcome.unknown:
            texts = [f'unknown field "{path}"' for path in outcome.unknown]
            if directive is FieldValidation.STRICT:
                raise strict_error(rt, texts, patch=patch)
            if directive is FieldValidation.WARN and warnings is not None:
                warnings.extend(t for t in texts if t not in warnings)
        if outcome.causes:
            name = str((document.get("metadata") or {}).get("name", ""))
            raise errors.invalid(rt, name, outcome.causes)


def strict_error(rt: ResourceType, texts: list[str], *, patch: bool) -> errors.BadRequest:
    decoding = "strict decoding error: " + ", ".join(texts)
    if patch:
        return errors.BadRequest(decoding)
    return errors.BadRequest(
        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {decoding}'
    )


def warning_header(text: str) -> str:
    """One `Warning` header value (RFC 7234 form, code 299, as the API server writes it)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
