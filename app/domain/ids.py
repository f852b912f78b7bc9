"""Prefixed, random, URL-safe identifiers (`db-`, `op-`, `evt-`, `key-`, ...)."""

from __future__ import annotations

import secrets
from enum import StrEnum


class IdPrefix(StrEnum):
    DATABASE = "db"
    OPERATION = "op"
    EVENT = "evt"
    API_KEY = "key"
    PROVIDER = "prv"
    BACKUP = "bkp"
    BACKUP_STORAGE = "bst"
    AUDIT = "aud"


_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id(prefix: IdPrefix) -> str:
    # 16 base-36 characters: ~82 bits, lowercase so they are valid in Kubernetes names.
    body = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return f"{prefix.value}-{body}"
