"""The code rules CI enforces (STYLE.md): lint, strict typing, layer contracts, module size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ruff"), "check", "app", "simulator", "tests", "bench", "scripts"],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
        [sys.executable, "scripts/check_module_size.py"],
    ],
    ids=["ruff", "mypy-strict", "import-layers", "module-size"],
)
def test_the_code_keeps_the_project_rules(command: list[str]) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
