"""The CLI's settings: flags win over KDB_* variables, which win over the profile; the config
file is private and written whole."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kdb.cli import config

FILE = config.ConfigFile(
    current_profile="work",
    profiles={
        "work": {"url": "http://profile", "api_key": "profile-key", "domain": "acme"},
        "home": {"url": "http://home", "api_key": "home-key", "project": "toys"},
    },
)


def test_a_flag_wins_over_the_variable_which_wins_over_the_profile() -> None:
    env = {"KDB_URL": "http://env", "KDB_API_KEY": "env-key", "KDB_DOMAIN": "env-domain"}

    settings = config.resolve({"url": "http://flag", "domain": None}, env, FILE)

    assert settings.values == {
        "url": "http://flag",
        "api_key": "env-key",
        "domain": "env-domain",
    }
    assert settings.sources == {"url": "flag", "api_key": "env", "domain": "env"}


def test_the_profile_fills_what_flags_and_variables_leave_out() -> None:
    settings = config.resolve({}, {}, FILE)

    assert settings.profile == "work"
    assert settings.values["api_key"] == "profile-key"
    assert settings.sources["domain"] == "profile"
    assert settings.get("project") is None


@pytest.mark.parametrize(
    ("flag", "env", "chosen"),
    [("home", {"KDB_PROFILE": "work"}, "home"), (None, {"KDB_PROFILE": "home"}, "home")],
)
def test_the_profile_flag_wins_over_kdb_profile_which_wins_over_the_current_one(
    flag: str | None, env: dict[str, str], chosen: str
) -> None:
    settings = config.resolve({}, env, FILE, profile=flag)

    assert settings.profile == chosen
    assert settings.values["url"] == "http://home"


def test_the_config_file_lives_under_xdg_config_home_or_the_home_folder() -> None:
    assert config.config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/kubedb-dbaas/config.yaml")
    assert config.config_path({"HOME": "/h"}) == Path("/h/.config/kubedb-dbaas/config.yaml")


def test_a_saved_file_is_readable_by_its_owner_only_and_reads_back_the_same(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config" / "kubedb-dbaas" / "config.yaml"

    FILE.save(path)
    FILE.save(path)  # replacing keeps it private too

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config.ConfigFile.load(path) == FILE
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]  # no temporary left


def test_a_config_file_of_the_wrong_shape_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("profiles: [1, 2]\n")

    with pytest.raises(config.ConfigError, match="expected a mapping"):
        config.ConfigFile.load(path)


def test_a_key_is_shown_by_its_last_four_characters_only() -> None:
    assert config.mask("kdb_abcdefgh_secret1234") == "****1234"
    assert config.mask("short") == "****"
