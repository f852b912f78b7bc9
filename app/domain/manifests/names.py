"""Names of cluster objects: the ones KubeDB derives from a database name (§3.1, §3.2) and the
ones this platform derives, deterministically, from a database name and an operation id.

Deterministic names make creation idempotent (DESIGN §3): a step re-run after a crash computes
the same name and meets 409 AlreadyExists for what it already made. Every derived name is a
DNS-1123 label of at most 63 characters; when the database name is too long it is cut, and a
hash of the uncut name keeps two cut names apart.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME_LENGTH = 63
_ID_BODY = re.compile(r"^[a-z0-9]{8,}$")


def derived_name(base: str, suffix: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """`<base>-<suffix>`, cutting `base` (and adding a hash of the full name) to fit."""
    full = f"{base}-{suffix}"
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    room = max_length - len(suffix) - len(digest) - 2
    if room < 1:
        raise ValueError(f"suffix {suffix!r} leaves no room for a name in {max_length} chars")
    return f"{base[:room].rstrip('-')}-{digest}-{suffix}"


def short_operation_id(operation_id: str) -> str:
    """Eight characters that identify an operation: its random id body, else a hash."""
    body = operation_id.removeprefix("op-").lower()
    if _ID_BODY.match(body):
        return body[:8]
    return hashlib.sha256(operation_id.encode()).hexdigest()[:8]


def ops_request_name(
    database_name: str, abbreviation: str, *, operation_id: str, attempt: int = 1
) -> str:
    """`<db>-<type>-<op8>`, plus `-<attempt>` for a resubmission (an OpsRequest spec is
    immutable, so a retry after Failed is a new object)."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    suffix = f"{abbreviation}-{short_operation_id(operation_id)}"
    if attempt > 1:
        suffix += f"-{attempt}"
    return derived_name(database_name, suffix)


def sentinel_name(database_name: str) -> str:
    """The RedisSentinel CR that watches one Redis Sentinel database."""
    return derived_name(database_name, "sentinel")


def auth_secret_name(database_name: str) -> str:
    """KubeDB's default auth secret (`spec.authSecret.name` overrides it)."""
    return f"{database_name}-auth"


def primary_service_name(database_name: str) -> str:
    return database_name


def standby_service_name(database_name: str) -> str:
    return f"{database_name}-standby"


def pods_service_name(database_name: str) -> str:
    """The governing headless service: pod DNS `<pod>.<name>-pods.<ns>.svc`."""
    return f"{database_name}-pods"
