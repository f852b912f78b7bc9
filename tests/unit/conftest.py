"""Fixtures shared by the unit suites."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import structlog

from app.config.settings import LogFormat, LogLevel
from app.observability.log import configure_logging


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """A console log written into a string, for the test to read (logging.py's and the
    scrubber's tests)."""
    stream = io.StringIO()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)
