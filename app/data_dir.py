"""DATA_DIR is private to the user that runs the app: the directory 0700, every file in it
0600 (the SQLite file and its WAL, the embedded Redis's data, keys, kubeconfigs, logs).

`make_private` sets the process's umask to 077, so everything made afterwards (by this
process, by the embedded Redis it starts, by SQLite) is private from the start, and
tightens what an older version left readable. `scripts/appctl.sh` does the same for what
it writes (logs, pid files, the simulator's kubeconfig). It never loosens a mode and never
follows a symbolic link. Two exceptions, for the embedded simulator's database servers
(their own user): DATA_DIR keeps others' execute bit, and their folder is left to them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


# The embedded simulator's database servers run as an unprivileged user: their folders are
# theirs (docs/simulator.md, "Data plane"), and DATA_DIR keeps others' execute bit so that
# user can pass through it (never list or read it).
SERVERS_FOLDER = "simulator-dataplane"


def make_private(data_dir: Path) -> None:
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(data_dir, keep=stat.S_IXOTH)
    for root, dirs, files in os.walk(data_dir):
        if Path(root) == data_dir and SERVERS_FOLDER in dirs:
            dirs.remove(SERVERS_FOLDER)
        for name in [*dirs, *files]:
            _tighten(Path(root) / name)


def _tighten(path: Path, *, keep: int = 0) -> None:
    info = path.lstat()
    others = _OTHERS & ~keep
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & others:
        return
    path.chmod(stat.S_IMODE(info.st_mode) & ~others)
