"""Secrets at rest: providers' kubeconfigs are stored encrypted with Fernet (AES-128-CBC with
an HMAC-SHA256, from `cryptography`), never as plain text, and decrypted only to connect.

The key comes from ENCRYPTION_KEY, or on an embedded install from DATA_DIR/encryption-key,
written on first start (mode 0600). Instances that share a store must share the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_RULE = "must be a Fernet key: 32 url-safe base64-encoded bytes (44 characters)"


class DecryptionFailed(Exception):
    """The text was not encrypted with this key (another key, or altered)."""


def is_key(text: str) -> bool:
    try:
        Fernet(text.encode())
    except (ValueError, TypeError):
        return False
    return True


def new_key() -> str:
    return Fernet.generate_key().decode()


class Cipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionFailed("not encrypted with this ENCRYPTION_KEY") from exc

    def __repr__(self) -> str:
        return "Cipher(<key>)"


def load_or_create_key(path: Path) -> str:
    """The key in `path`, or a new one written there (mode 0600) when there is none."""
    if path.exists():
        key = path.read_text().strip()
        if not is_key(key):
            raise ValueError(f"{path}: {KEY_RULE}")
        return key
    key = new_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
