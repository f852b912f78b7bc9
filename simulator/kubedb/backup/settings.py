"""The backup model's knobs: faults a test or an operator turns on at run time
(`/_sim/config`, `--set`), each a list of `namespace/name` globs."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from simulator.extensions import Config, Knob

KNOBS = (
    Knob(
        "backup_session_stuck",
        (),
        "namespace/name globs of BackupSessions that stay Running for ever",
    ),
    Knob("backup_session_fail", (), "namespace/name globs of BackupSessions that fail"),
    Knob(
        "retention_fail",
        (),
        "namespace/name globs of Repositories whose retention policy fails to apply",
    ),
    Knob("restore_fail", (), "namespace/name globs of RestoreSessions that fail"),
    Knob(
        "repository_locked",
        (),
        "namespace/name globs of Repositories locked by another process (backups fail)",
    ),
    Knob(
        "backup_seconds",
        1.0,
        "simulated seconds a backup or restore of a modelled database takes",
        minimum=0.0,
    ),
)


@dataclass(frozen=True)
class BackupSettings:
    time_scale: float
    backup_seconds: float
    stuck: tuple[str, ...]
    fail: tuple[str, ...]
    retention_fail: tuple[str, ...]
    restore_fail: tuple[str, ...]
    locked: tuple[str, ...]

    @classmethod
    def read(cls, config: Config) -> BackupSettings:
        return cls(
            time_scale=config.get_float("time_scale"),
            backup_seconds=config.get_float("backup_seconds"),
            stuck=config.get_strings("backup_session_stuck"),
            fail=config.get_strings("backup_session_fail"),
            retention_fail=config.get_strings("retention_fail"),
            restore_fail=config.get_strings("restore_fail"),
            locked=config.get_strings("repository_locked"),
        )

    @property
    def modelled_seconds(self) -> float:
        return self.backup_seconds * self.time_scale


def matches(patterns: tuple[str, ...], namespace: str, name: str) -> bool:
    return any(fnmatch.fnmatchcase(f"{namespace}/{name}", p) for p in patterns)
