"""Where the CLI's settings come from: flags, then `KDB_*` variables, then the profile.

The config file is `$XDG_CONFIG_HOME/kubedb-dbaas/config.yaml` (`~/.config/...` without the
variable), YAML (PyYAML is already a dependency of the project):

    current_profile: default
    profiles:
      default: {url: http://127.0.0.1:8000, api_key: ..., domain: acme, project: shop}

It holds API keys, so it is written with mode 0600 in a 0700 folder, and atomically (a
temporary file in the same folder, then a rename): a crash never leaves half a file.
The profile used is `--profile`, else `KDB_PROFILE`, else the file's `current_profile`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELDS = ("url", "api_key", "domain", "project")
ENV = {"url": "KDB_URL", "api_key": "KDB_API_KEY", "domain": "KDB_DOMAIN", "project": "KDB_PROJECT"}
DEFAULT_PROFILE = "default"


class ConfigError(Exception):
    """The config file cannot be read or is not the shape above."""


def config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "kubedb-dbaas" / "config.yaml"


@dataclass
class ConfigFile:
    current_profile: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        import yaml

        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls()
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e.strerror}") from e
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {e}") from e
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(profiles, dict) or not all(
            isinstance(v, dict) for v in profiles.values()
        ):
            raise ConfigError(f"{path}: expected a mapping `profiles: {{name: {{url: ...}}}}`")
        return cls(
            current_profile=data.get("current_profile"),
            profiles={
                str(name): {k: str(v) for k, v in values.items() if k in FIELDS}
                for name, values in profiles.items()
            },
        )

    def save(self, path: Path) -> None:
        import yaml

        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = yaml.safe_dump(
            {"current_profile": self.current_profile, "profiles": self.profiles},
            sort_keys=False,
        )
        # mkstemp creates the file with mode 0600, readable by no one else from the start.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class Settings:
    """What a command runs with, and where each value came from (`flag`, `env`, `profile`)."""

    profile: str
    values: dict[str, str]
    sources: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def profile_name(flag: str | None, env: Mapping[str, str], file: ConfigFile) -> str:
    return flag or env.get("KDB_PROFILE") or file.current_profile or DEFAULT_PROFILE


def resolve(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    file: ConfigFile,
    *,
    profile: str | None = None,
) -> Settings:
    """Each field from the first of: its flag, its `KDB_*` variable, the profile."""
    name = profile_name(profile, env, file)
    stored = file.profiles.get(name, {})
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key in FIELDS:
        for source, value in (
            ("flag", flags.get(key)),
            ("env", env.get(ENV[key])),
            ("profile", stored.get(key)),
        ):
            if value:
                values[key], sources[key] = str(value), source
                break
    return Settings(profile=name, values=values, sources=sources)


def mask(key: str) -> str:
    """An API key as `config view` shows it: its last four characters only."""
    return "****" + key[-4:] if len(key) > 8 else "****"
