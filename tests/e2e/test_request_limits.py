"""Size limits of the running process (issue 12, item 2): the body bound checked from
Content-Length and counted as a chunked body arrives (413 before any parsing), the issue's
400,000-label create refused without the process growing, over-long path ids refused."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.api.limits import RequestLimits
from tests.e2e.conftest import AppProcess, app_process

DATABASES = "/api/v1/domain/acme/project/shop/databases"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """One process for the module: each test sends its own requests and checks only their
    answers, so none depends on what another did. The growth test comes first in the file:
    it measures a process that nothing before it has grown."""
    started = app_process(tmp_path_factory.mktemp("limits"), MAX_REQUEST_BODY_BYTES=str(MIB))
    try:
        started.start().wait_healthy()
        yield started
    finally:
        started.kill()


def admin(app: AppProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {(app.data_dir / 'admin-api-key').read_text().strip()}"}


def raw_exchange(
    app: AppProcess, head: bytes, chunks: Iterator[bytes]
) -> tuple[int, dict[str, object], int]:
    """Send `head`, then `chunks` until the server answers (or they run out); the status,
    the JSON body and how many body bytes went out."""
    sent = 0
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        received = b""
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):  # nothing answered yet
                received += sock.recv(65536)
            if b"\r\n\r\n" in received:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.setblocking(True)
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    header, _, body = received.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, json.loads(body or b"{}"), sent


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_the_issues_400000_label_create_is_refused_without_the_process_growing(
    app: AppProcess,
) -> None:
    assert app.proc is not None
    body = {
        "name": "flood",
        "engine": "postgres",
        "version": "16.13",
        "labels": {f"k{i}": f"v{i}" for i in range(400_000)},
    }
    before = rss_kib(app.proc.pid)

    answer = httpx.post(f"{app.url}{DATABASES}", json=body, headers=admin(app), timeout=60)

    grown_mib = (rss_kib(app.proc.pid) - before) / 1024
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "request_too_large"
    assert "x-request-id" in answer.headers
    assert grown_mib < 20, f"the process grew by {grown_mib:.1f} MiB"


def test_a_content_length_over_the_limit_is_refused_with_413_before_the_body_is_read(
    app: AppProcess,
) -> None:
    key = admin(app)["Authorization"]
    head = (
        f"POST {DATABASES} HTTP/1.1\r\nHost: x\r\nAuthorization: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {10 * MIB}\r\n\r\n"
    ).encode()

    status, body, _ = raw_exchange(app, head, iter([]))

    assert status == 413
    assert body["error"]["code"] == "request_too_large"  # type: ignore[index]
    assert body["error"]["details"] == {"limit_bytes": MIB}  # type: ignore[index]


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(app: AppProcess) -> None:
    key = admin(app)["Authorization"]
    head = (
        f"POST {DATABASES} HTTP/1.1\r\nHost: x\r\nAuthorization: {key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b"a" * 65536
    chunks = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(64 * 16))  # 64 MiB

    status, body, sent = raw_exchange(app, head, chunks)

    assert status == 413
    assert body["error"]["details"] == {"limit_bytes": MIB}  # type: ignore[index]
    # Refused while the body was still coming (loopback buffers hold a few MiB), not after.
    assert sent < 32 * MIB


def test_a_body_within_the_limit_still_reaches_the_route(app: AppProcess) -> None:
    answer = httpx.post(
        f"{app.url}/api/v1/api-keys",
        headers=admin(app),
        json={"name": "fits", "role": "viewer", "domain": "acme"},
    )

    assert answer.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        f"{DATABASES}/{'d' * 300}",
        f"/api/v1/operations/{'o' * 300}",
        f"/api/v1/providers/{'p' * 300}",
        f"/api/v1/api-keys/{'k' * 300}",
        f"/api/v1/domain/{'a' * 300}/project/shop/databases",
    ],
)
def test_an_over_long_id_in_the_path_is_a_4xx_with_the_error_shape(
    app: AppProcess,
    path: str,
) -> None:
    answer = httpx.get(f"{app.url}{path}", headers=admin(app))

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert "x-request-id" in answer.headers


async def test_the_413_body_is_compact_json_like_every_other_answer() -> None:
    sent: list[dict[str, object]] = []

    async def never_called(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the route ran")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": True}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    limited = RequestLimits(never_called, max_body_bytes=10)  # type: ignore[arg-type]
    await limited(
        {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/x",
            "headers": [(b"content-length", b"100")],
        },
        receive,
        send,
    )  # type: ignore[arg-type]

    body = sent[1]["body"]
    assert isinstance(body, bytes)
    assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()
