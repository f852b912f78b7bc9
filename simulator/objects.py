"""Helpers over plain-dict Kubernetes objects: copying, metadata access, timestamps, names.

Stored objects are never changed in place: a write builds a new dict (`clone` of the old one,
then changes) and the store swaps it in. That is what lets a list or a watch serialise stored
dicts directly, and a watch history keep old versions, without copying the whole store.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes' generateName alphabet: no vowels (no words), no look-alike characters.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def clone(obj: Obj) -> Obj:
    """A deep copy of a JSON document (faster than `copy.deepcopy`, and it proves the
    value is JSON)."""
    copied: Obj = json.loads(json.dumps(obj))
    return copied


def meta(obj: Obj) -> dict[str, Any]:
    """`obj.metadata`, created if missing or not an object."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = obj["metadata"] = {}
    return metadata


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace") or "")


def labels_of(obj: Obj) -> dict[str, str]:
    labels = obj.get("metadata", {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def finalizers_of(obj: Obj, *, spec_finalizers: bool = False) -> list[str]:
    found = obj.get("metadata", {}).get("finalizers") or []
    if spec_finalizers:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            found = [*found, *(spec.get("finalizers") or [])]
    return [str(f) for f in found]


def is_terminating(obj: Obj) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def resource_version(obj: Obj) -> str | None:
    value = obj.get("metadata", {}).get("resourceVersion")
    return None if value in (None, "") else str(value)


def now() -> str:
    """The RFC 3339 timestamp Kubernetes stores (second precision, UTC, `Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generated_name(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice(_SUFFIX_ALPHABET) for _ in range(5))


def name_problem(name: str, *, label: bool = False) -> str | None:
    """Why `name` is not a valid object name (DNS subdomain, or DNS label), or None."""
    limit, pattern, what = (
        (63, _DNS_LABEL, "RFC 1123 label") if label else (253, _DNS_SUBDOMAIN, "RFC 1123 subdomain")
    )
    if len(name) > limit:
        return f"must be no more than {limit} characters"
    if not pattern.match(name):
        allowed = "'-'" if label else "'-' or '.'"
        return (
            f"a lowercase {what} must consist of lower case alphanumeric characters, "
            f"{allowed}, and must start and end with an alphanumeric character"
        )
    return None


def without_meta_and_status(obj: Obj, *, drop_status: bool) -> Obj:
    """The part of an object whose change bumps `generation`: all but metadata (and status,
    for kinds with a status subresource)."""
    return {k: v for k, v in obj.items() if k != "metadata" and not (drop_status and k == "status")}
