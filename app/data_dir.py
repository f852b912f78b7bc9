"""DATA_DIR is private to the user that runs the app: the directory 0700, every file in it
0600 (the SQLite file and its WAL, the embedded Redis's data, keys, kubeconfigs, logs).

`make_private` sets the process's umask to 077, so everything made afterwards (by this
process, by the embedded Redis it starts, by SQLite) is private from the start, and
tightens what an older version left readable. `scripts/appctl.sh` does the same for what
it writes (logs, pid files, the simulator's kubeconfig). It never loosens a mode and never
follows a symbolic link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private(data_dir: Path) -> None:
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in [*dirs, *files]:
            _tighten(Path(root) / name)


def _tighten(path: Path) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OTHERS:
        return
    path.chmod(stat.S_IMODE(info.st_mode) & ~_OTHERS)
