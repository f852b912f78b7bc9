"""Run the real kubectl against a simulator: one subprocess call, its exit code and output
(the kubectl test modules share it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from simulator.kubeconfig import CONTEXT


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Kubectl = Callable[..., Awaitable[Result]]


async def run_kubectl(config: Path, cache: Path, *args: str, stdin: str | None = None) -> Result:
    """`kubectl --kubeconfig=config ... args` with `stdin` fed in, within 30 s."""
    process = await asyncio.create_subprocess_exec(
        "kubectl",
        f"--kubeconfig={config}",
        f"--context={CONTEXT}",
        f"--cache-dir={cache}",
        *args,
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin else None), timeout=30
    )
    return Result(process.returncode or 0, out.decode(), err.decode())
