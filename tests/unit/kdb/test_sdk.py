"""The SDK over a fake transport (httpx.MockTransport): the key and idempotency headers, the
API's error body turned into the error tree, and an operation waited for in virtual time."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from kdb.sdk import Client, errors
from kdb.sdk.models import Operation
from kdb.sdk.operations import Operations
from kdb.sdk.transport import RetryPolicy, Transport

DATABASE = {
    "id": "db-1",
    "name": "orders",
    "domain": "acme",
    "project": "shop",
    "engine": "postgres",
    "version": "16.13",
    "status": "provisioning",
    "operation_id": "op-1",
    "a_field_from_a_newer_server": 7,
}


def test_a_mutation_sends_the_key_and_an_idempotency_key_and_keeps_unknown_fields() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=DATABASE)

    with Client("http://api", "secret", http=httpx.MockTransport(answer)) as api:
        shop = api.databases("acme", "shop")
        made = shop.create("orders", engine="postgres", version="16.13", replicas=3)
        shop.create("orders", engine="postgres", version="16.13", idempotency_key="mine")

    assert seen[0].headers["Authorization"] == "Bearer secret"
    assert seen[0].headers["Idempotency-Key"].startswith("kdb-")
    assert seen[1].headers["Idempotency-Key"] == "mine"
    assert json.loads(seen[0].content)["replicas"] == 3
    assert made.operation_id == "op-1"
    assert made.to_json()["a_field_from_a_newer_server"] == 7


def test_an_error_body_becomes_the_leaf_of_its_status_with_code_and_details() -> None:
    body = {"error": {"code": "operation_in_progress", "message": "busy", "details": {"a": 1}}}
    failing = httpx.MockTransport(lambda request: httpx.Response(409, json=body))

    with Client("http://api", "k", http=failing) as api, pytest.raises(errors.Conflict) as caught:
        api.databases("acme", "shop").pause("db-1")

    assert (caught.value.status, caught.value.code, caught.value.message) == (
        409,
        "operation_in_progress",
        "busy",
    )
    assert caught.value.details == {"a": 1}


def test_an_answer_without_the_error_body_keeps_its_status() -> None:
    html = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>bad gateway"))

    with Client("http://api", "k", http=html) as api, pytest.raises(errors.Unavailable) as caught:
        api.sizes()

    assert caught.value.code == "http_502"


def _operation(status: str, progress: int, message: str | None = None) -> dict[str, object]:
    return {
        "id": "op-1",
        "database_id": "db-1",
        "type": "create",
        "status": status,
        "progress": progress,
        "message": message,
        "error_message": "the cluster said no" if status == "failed" else None,
    }


def _waiting(*states: dict[str, object]) -> tuple[Operations, list[float]]:
    answers: Iterator[dict[str, object]] = iter(states)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = Client(
        "http://api",
        "k",
        http=httpx.MockTransport(lambda request: httpx.Response(200, json=next(answers))),
    )
    return Operations(client.transport, clock=lambda: now[0], sleep=sleep), now


def test_wait_reports_each_change_once_and_returns_the_succeeded_operation() -> None:
    operations, _ = _waiting(
        _operation("queued", 0),
        _operation("running", 20, "provisioning"),
        _operation("running", 20, "provisioning"),
        _operation("succeeded", 100, "running"),
    )
    changes: list[Operation] = []

    ended = operations.wait("op-1", interval=1, on_change=changes.append)

    assert ended.status == "succeeded"
    assert [(c.status, c.progress) for c in changes] == [
        ("queued", 0),
        ("running", 20),
        ("succeeded", 100),
    ]


def test_wait_raises_operation_failed_with_the_operations_error() -> None:
    operations, _ = _waiting(_operation("running", 50), _operation("failed", 50))

    with pytest.raises(errors.OperationFailed, match="the cluster said no") as caught:
        operations.wait("op-1", interval=1)

    assert caught.value.code == "operation_failed"


def test_wait_gives_up_at_its_deadline() -> None:
    operations, now = _waiting(*[_operation("waiting", 40)] * 10)

    with pytest.raises(errors.WaitTimedOut, match="kdb op wait op-1"):
        operations.wait("op-1", timeout=2.5, interval=1)

    assert now[0] == 2.5


def test_a_rate_limited_mutation_is_retried_after_retry_after_with_the_same_key() -> None:
    seen: list[httpx.Request] = []
    slept: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            body = {"error": {"code": "rate_limited", "message": "slow down"}}
            return httpx.Response(429, json=body, headers={"Retry-After": "2"})
        return httpx.Response(202, json=DATABASE)

    transport = Transport("http://api", "k", http=httpx.MockTransport(answer), sleep=slept.append)
    transport.request("POST", "/api/v1/x", json={})

    assert slept == [2.0]
    assert seen[0].headers["Idempotency-Key"] == seen[1].headers["Idempotency-Key"]


def test_a_dependency_down_is_retried_with_backoff_then_raised() -> None:
    slept: list[float] = []
    down = httpx.MockTransport(lambda request: httpx.Response(503, json={}))
    policy = RetryPolicy(attempts=4, initial=0.5, factor=2, cap=1.5)
    transport = Transport("http://api", "k", http=down, retry=policy, sleep=slept.append)

    with pytest.raises(errors.Unavailable):
        transport.request("GET", "/api/v1/sizes")

    assert slept == [0.5, 1.0, 1.5]
