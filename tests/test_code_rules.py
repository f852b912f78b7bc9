"""The code rules CI enforces (STYLE.md): lint, strict typing, layer contracts, module size,
and docs that refer to nothing outside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = ["app", "simulator", "kdb", "tests", "bench", "scripts"]


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ruff"), "format", "--check", *CODE],
        [str(BIN / "ruff"), "check", *CODE],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
        [sys.executable, "scripts/check_module_size.py"],
    ],
    ids=["ruff-format", "ruff", "mypy-strict", "import-layers", "module-size"],
)
def test_the_code_keeps_the_project_rules(command: list[str]) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr


# What a reference out of the repository looks like in Markdown: a link or a path that climbs
# out (`../`), or an absolute file-system path (API paths such as `/v1/databases` are not).
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CLIMB = re.compile(r"(?<![\w.])\.\./")
_ABSOLUTE = re.compile(r"(?<![\w.:/])(?:~|/(?:work|home|tmp|root|Users|mnt|srv|opt|etc))/")
_MARKDOWN_FILE = re.compile(r"(?<![\w/.-])([\w./-]+\.md)\b")


def references_outside(path: Path, root: Path = ROOT) -> list[str]:
    """What `path` (a Markdown page of the repository at `root`) links or refers to outside it."""
    text = path.read_text(encoding="utf-8")
    found = [f"climbs out: {m.group(0)}" for m in _CLIMB.finditer(text)]
    found += [f"absolute path: {m.group(0)}" for m in _ABSOLUTE.finditer(text)]
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:|#", target):
            continue  # a URL or an anchor on the same page
        resolved = (path.parent / target.split("#")[0]).resolve()
        if not resolved.is_relative_to(root) or not resolved.exists():
            found.append(f"link to a file not in the repository: {target}")
    names = {p.name for p in root.rglob("*.md") if ".venv" not in p.parts}
    for name in _MARKDOWN_FILE.findall(text):
        if Path(name).name not in names:
            found.append(f"names a page not in the repository: {name}")
    return found


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda page: page.name)
def test_the_docs_refer_to_nothing_outside_the_repository(page: Path) -> None:
    # docs/architecture.md above all: it must stand alone (issue 13, deliverable 8).
    assert references_outside(page) == []


def test_a_page_pointing_outside_the_repository_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "testing.md").write_text("# Testing\n", encoding="utf-8")
    page = root / "docs" / "architecture.md"
    page.write_text(
        "See [the design](../../DESIGN.md), `API.md` and /work/shared/STYLE.md; "
        "[the guide](testing.md) is fine.\n",
        encoding="utf-8",
    )

    found = references_outside(page, root)

    assert {finding.split(":")[0] for finding in found} == {
        "climbs out",
        "absolute path",
        "link to a file not in the repository",
        "names a page not in the repository",
    }, found
    assert not any("testing.md" in finding for finding in found)
