"""Child processes of the data plane: the unprivileged account servers run as, starting
and stopping them without blocking the event loop, free loopback ports, and the servers a
crashed simulator left behind (found by the pid files in their folders, then stopped).

PostgreSQL refuses to run as root: when the simulator is root, servers run as the
`postgres` system user, created with `useradd --system` when missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from simulator.kubedb.dataplane.port import Account, DataPlaneError

_USERADD_ATTEMPTS = 5
USER = "postgres"
_STOP_GRACE = 5.0


def account() -> Account:
    """The account servers run as; blocking (it may run `useradd`): call it in a thread."""
    if os.geteuid() != 0:
        return Account(pwd.getpwuid(os.geteuid()).pw_name, None, None)
    failure = ""
    for attempt in range(_USERADD_ATTEMPTS):
        try:
            entry = pwd.getpwnam(USER)
        except KeyError:
            pass
        else:
            return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
        if attempt:
            time.sleep(0.2 * attempt)  # another process holds /etc/passwd's lock
        # Another process (a second simulator, a parallel test) may add it at the same
        # time: its "exists" or lock failure is read again above, not reported.
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            capture_output=True,
            text=True,
            check=False,
        )
        failure = done.stderr.strip() or str(done.returncode)
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(USER)
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    raise DataPlaneError(
        f"cannot run database servers: no user {USER!r} and useradd failed: {failure}"
    )


def own(path: Path, who: Account, *, mode: int = 0o700) -> None:
    missing = [folder for folder in path.parents if not folder.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:  # made under the caller's umask (077 under `make run`): the
        folder.chmod(0o711)  # servers' user must pass through, never list
    path.chmod(mode)
    if who.uid is not None and who.gid is not None:
        os.chown(path, who.uid, who.gid)


def write_owned(path: Path, text: str, who: Account) -> None:
    path.write_text(text)
    path.chmod(0o600)
    if who.uid is not None and who.gid is not None:
        os.chown(path, who.uid, who.gid)


async def spawn(argv: Sequence[str], *, who: Account, log: Path) -> asyncio.subprocess.Process:
    """A long-running server, in a session of its own (signals to the simulator's terminal
    do not reach it: the simulator stops it in order)."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=who.uid,
            group=who.gid,
            extra_groups=[] if who.uid is not None else None,
        )


async def run(argv: Sequence[str], *, who: Account, stdin: str = "", timeout: float = 30.0) -> str:
    """A short command (initdb, psql); its output, or DataPlaneError with its last line."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=subprocess.STDOUT,
        user=who.uid,
        group=who.gid,
        extra_groups=[] if who.uid is not None else None,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(stdin.encode()), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise DataPlaneError(f"{Path(argv[0]).name} took longer than {timeout:.0f}s") from None
    text = out.decode(errors="replace")
    if process.returncode != 0:
        last = text.strip().splitlines()[-1] if text.strip() else f"exit {process.returncode}"
        raise DataPlaneError(f"{Path(argv[0]).name} failed: {last}")
    return text


async def stop(process: asyncio.subprocess.Process, *, sig: int = signal.SIGTERM) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        await asyncio.wait_for(process.wait(), _STOP_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def free_port(preferred: int | None = None) -> int:
    """`preferred` when it is free on 127.0.0.1, else any free port."""
    for candidate in (preferred, 0):
        if candidate is None:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise DataPlaneError("no free loopback port")


async def accepts(port: int, timeout: float = 1.0) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def stop_orphan(pid_file: Path, marker: str, *, sig: int = signal.SIGTERM) -> bool:
    """Stop the process a pid file names when it is still alive and its command line holds
    `marker` (a server of this folder, not a recycled pid): `sig` (the server's own way to
    shut down), SIGKILL after a grace; blocking: run in a thread."""
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError, IndexError):
        return False
    if marker not in cmdline:
        return False
    for signum in (sig, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        if _gone(pid, _STOP_GRACE):
            return True
    return False


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        stat = Path(f"/proc/{pid}/stat")
        with contextlib.suppress(OSError):
            if stat.read_text().split(") ")[1].startswith("Z"):
                return True  # a zombie of another parent: it is dead
        time.sleep(0.05)
    return False
