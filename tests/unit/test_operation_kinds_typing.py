"""mypy checks an operation's input and handler against its kind (docs/architecture.md, "Add
an operation type"): a handler written for another kind, or an input of another kind, is a
type error, and the matching ones are not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MYPY = Path(sys.executable).parent / "mypy"

SNIPPET = """
from app.domain.operation_kinds import PAUSE, RESUME, HaltState, PauseInput, ResumeInput
from app.engine import steps
from app.engine.context import StepContext
from app.engine.registry import HandlerRegistry
from app.services.operations import OperationService


async def resume(ctx: StepContext[ResumeInput, HaltState]) -> steps.StepResult:
    return steps.Done()


async def submitter(registry: HandlerRegistry, operations: OperationService) -> None:
    registry.register({registered}, resume)
    await operations.submit({submitted}, database_id="d", domain="a", project="p")
"""


def mypy_errors(tmp_path: Path, *, registered: str, submitted: str) -> list[str]:
    source = tmp_path / "submitter.py"
    source.write_text(SNIPPET.format(registered=registered, submitted=submitted))
    result = subprocess.run(
        [str(MYPY), "--strict", "--no-error-summary", str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


def test_a_handler_and_an_input_of_their_own_kind_type_check(tmp_path: Path) -> None:
    assert mypy_errors(tmp_path, registered="RESUME", submitted="RESUME, ResumeInput()") == []


def test_a_handler_or_an_input_of_another_kind_is_a_type_error(tmp_path: Path) -> None:
    errors = mypy_errors(tmp_path, registered="PAUSE", submitted="PAUSE, ResumeInput()")

    assert len(errors) == 2, errors
    assert 'Argument 2 to "register"' in errors[0]
    assert "StepContext[PauseInput, HaltState]" in errors[0]
    assert '"submit"' in errors[1]
