"""Logging: the console and JSON shapes, one pipeline for stdlib loggers, no secret leaks."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from app.config.settings import LogFormat, LogLevel
from app.observability.access_log import AccessLog
from app.observability.log import configure_logging, get_logger

SECRETS = ["hunter2-very-secret", "kdb_AbCdEfGhIjKlMnOp", "s3cr3t-token-value"]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.JSON, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)


def test_a_console_line_reads_event_then_key_value_pairs(console: io.StringIO) -> None:
    get_logger("app.test").info("leadership_acquired", instance_id="kubedb-dbaas-abc123")
    get_logger("app.test").info("operation_workers_started", count=3)

    first, second = console.getvalue().splitlines()
    assert first.startswith("leadership_acquired instance_id=kubedb-dbaas-abc123 level=info")
    assert second.startswith("operation_workers_started count=3 level=info")
    assert "logger=app.test" in first and "timestamp=" in first


def test_values_with_spaces_are_quoted(console: io.StringIO) -> None:
    get_logger("app.test").info("dependency_connected", dependency="store (sqlite var/x)")

    assert 'dependency="store (sqlite var/x)"' in console.getvalue()


def test_json_format_gives_one_object_per_line(json_lines: io.StringIO) -> None:
    get_logger("app.test").info("leadership_acquired", instance_id="i-1", epoch=4)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)

    records = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert records[0]["event"] == "leadership_acquired"
    first = records[0]
    assert (first["instance_id"], first["epoch"], first["level"]) == ("i-1", 4, "info")
    assert records[1]["event"] == "Started server process [42]"
    assert records[1]["logger"] == "uvicorn.error"


def test_stdlib_loggers_go_through_the_same_pipeline_with_bound_context(
    console: io.StringIO,
) -> None:
    structlog.contextvars.bind_contextvars(request_id="req-123")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)

    line = console.getvalue().strip()
    assert line.startswith("Started server process [42] request_id=req-123")


def test_secrets_never_reach_the_log(console: io.StringIO) -> None:
    log = get_logger("app.test")
    log.info("connecting", password=SECRETS[0], api_key=SECRETS[1], token=SECRETS[2])
    log.info("connecting", url=f"redis://default:{SECRETS[0]}@cache:6379/0")
    log.info("connecting", mongodb_url=f"mongodb://admin:{SECRETS[0]}@db/x")
    log.info("request", headers={"Authorization": f"Bearer {SECRETS[1]}", "accept": "json"})
    log.info("echo", note=f"client sent Bearer {SECRETS[1]} in a header")
    log.info("nested", spec={"auth": {"password": SECRETS[2]}, "items": [{"secret": SECRETS[0]}]})
    logging.getLogger("uvicorn.error").warning("cannot reach redis://u:%s@h:1", SECRETS[2])
    log.info("free_text", error=f"connect failed: user=app password={SECRETS[0]} host=db")
    log.info("webhook", error=f"422 Invalid: {{'stringData': {{'password': '{SECRETS[1]}'}}}}")
    log.info("object", error=ConnectionError(f"refused: redis://u:{SECRETS[2]}@h:6379"))
    log.info("at_sign", url=f"redis://u:p@{SECRETS[0]}@h:6379")
    log.info("basic", note=f"Authorization: Basic {SECRETS[1]}")
    AccessLog().record(
        method="GET",
        path="/api",
        query=f"token={SECRETS[2]}&a=1".encode(),
        status=200,
        seconds=0.001,
        client=("1.2.3.4", 1),
        request_id="r-1",
    )
    try:
        raise ConnectionError(f"refused: mongodb://root:{SECRETS[0]}@mongo:27017")
    except ConnectionError:
        log.exception("store_failed")

    text = console.getvalue()
    for secret in SECRETS:
        assert secret not in text
    assert "redis://default:***@cache:6379/0" in text
    assert "mongodb://root:***@mongo:27017" in text
    assert "Bearer ***" in text
    assert "accept=" in text or "'accept': 'json'" in text
    assert "user=app password=*** host=db" in text
    assert 'query="token=***&a=1"' in text


def test_secret_looking_words_inside_ordinary_ones_are_left_alone(console: io.StringIO) -> None:
    get_logger("app.test").info("reconcile_pass", passes=3, note="all checks passed=yes")

    assert "passes=3" in console.getvalue() and "passed=yes" in console.getvalue()


def test_every_line_names_its_instance_unless_it_names_one_itself() -> None:
    stream = io.StringIO()
    configure_logging(
        level=LogLevel.INFO, fmt=LogFormat.JSON, stream=stream, instance_id="kubedb-dbaas-7f9c"
    )
    try:
        get_logger("app.test").info("operation_queued", op_id="op-1")
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        get_logger("app.test").info("leadership_acquired", instance_id="other")
    finally:
        configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["instance_id"] for line in lines] == [
        "kubedb-dbaas-7f9c",
        "kubedb-dbaas-7f9c",
        "other",
    ]
    assert lines[1]["event"] == "Started server process [42]"


@pytest.mark.parametrize(("level", "shown"), [(LogLevel.INFO, False), (LogLevel.DEBUG, True)])
def test_the_cluster_clients_line_per_request_is_shown_at_debug_only(
    level: LogLevel, shown: bool
) -> None:
    stream = io.StringIO()
    configure_logging(level=level, fmt=LogFormat.CONSOLE, stream=stream)
    try:
        logging.getLogger("httpx2").info('HTTP Request: GET http://cluster/x "HTTP/1.1 200 OK"')
        logging.getLogger("httpx2").warning("a warning is always shown")
    finally:
        configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)

    assert ("HTTP Request" in stream.getvalue()) is shown
    assert "a warning is always shown" in stream.getvalue()
