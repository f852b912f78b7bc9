"""A database user's name and password, as read from or written to the cluster's
basic-auth secret. The password never shows in a repr (and so never in a log)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"
