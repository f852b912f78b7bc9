"""Fail when a module passes 1,000 lines; warn past 500 (STYLE.md rule 3)."""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT, WARN = 1000, 500


def main() -> int:
    failed = False
    for path in [
        p for top in ("app", "simulator", "kdb") for p in sorted(Path().glob(f"{top}/**/*.py"))
    ]:
        lines = len(path.read_text().splitlines())
        if lines > LIMIT:
            print(f"{path}: {lines} lines (limit {LIMIT})")
            failed = True
        elif lines > WARN:
            print(f"{path}: {lines} lines; split it past {WARN}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
