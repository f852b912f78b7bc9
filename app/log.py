"""Logging: one structlog pipeline for our own events and for uvicorn's.

A console line reads `event key=value ...` (`leadership_acquired instance_id=abc`), then the
level, logger and timestamp; `LOG_FORMAT=json` gives one JSON object per line. Context bound
with `structlog.contextvars` (the request id, an operation id) rides on every line.

Secrets never reach a log: `redact` masks the values of secret-looking keys and the password
of any URL with credentials, in our events and in foreign (stdlib) records alike. It must
stay the last processor before rendering so nothing added later escapes it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from app.config.settings import LogFormat, LogLevel

MASK = "***"
_SECRET_WORDS = (
    r"pass(?:word|wd|phrase)|(?<![a-z])pass(?![a-z])|secret|token|api[_-]?key|apikey|authorization|kubeconfig|credentials?"
    r"|private[_-]?key|cookie"
)
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE)
# scheme://user:password@host -> scheme://user:***@host (greedy to the token's last "@", so a
# password holding "@" is masked whole)
_URL_CREDENTIALS = re.compile(r"(?P<prefix>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)\S*@")
# "Bearer abc.def" / "Basic dXNlcjpw" in free text (an echoed header)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]+")
# password=..., "password": "...", 'api_key': '...', ?token=... in free text
_KEY_VALUE = re.compile(
    rf"""(?ix)
    (?P<key>["']?[\w.-]*(?:{_SECRET_WORDS})[\w.-]*["']?)   # a secret-looking key
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["'])?
    (?P<value>(?(quote)[^"']*|[^\s&,;)}}\]]+))
    """
)

_FIRST_KEYS = ("event",)
_LAST_KEYS = ("level", "logger", "timestamp")


def scrub_text(text: str) -> str:
    """Mask credentials embedded in free text: URLs with a password, auth headers,
    `key=value` and `"key": "value"` pairs whose key looks secret, secret query parameters."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('prefix')}{MASK}@", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _KEY_VALUE.sub(
        lambda m: f"{m.group('key')}{m.group('sep')}{m.group('quote') or ''}{MASK}", text
    )


def _scrub(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value is not None:
        return MASK
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(key, v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception, a settings object) is rendered as text later: scrub
    # that text now, so no renderer ever sees the raw object.
    return scrub_text(str(value))


def redact(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    return {key: _scrub(key, value) for key, value in event_dict.items()}


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text == "" or any(c in text for c in ' ="\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


class ConsoleRenderer:
    """`event key=value ... level=info logger=x timestamp=...`; exceptions follow on new lines.

    structlog's own ConsoleRenderer puts the timestamp first and pads columns; operators grep
    for `leadership_acquired instance_id=...` as the line reads, so this renders logfmt with
    the event name bare and first.
    """

    def __call__(self, _logger: WrappedLogger, _name: str, event_dict: EventDict) -> str:
        exception = event_dict.pop("exception", None)
        event = str(event_dict.pop("event", ""))
        tail = {k: event_dict.pop(k) for k in _LAST_KEYS if k in event_dict}
        parts = [event] if event else []
        parts += [f"{k}={_logfmt_value(v)}" for k, v in event_dict.items()]
        parts += [f"{k}={_logfmt_value(v)}" for k, v in tail.items()]
        line = " ".join(parts)
        return f"{line}\n{exception}" if exception else line


class _InstanceId:
    """Every line names the instance that wrote it (several run side by side); a line that
    names one itself (`leadership_acquired instance_id=...`) keeps its own."""

    def __init__(self, instance_id: str) -> None:
        self._instance_id = instance_id

    def __call__(self, _logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("instance_id", self._instance_id)
        return event_dict


def _shared_processors(instance_id: str | None = None) -> list[Processor]:
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if instance_id is not None:
        processors.insert(1, _InstanceId(instance_id))
    return processors


def configure_logging(
    *, level: LogLevel, fmt: LogFormat, stream: TextIO | None = None,
    instance_id: str | None = None,
) -> None:
    """Route structlog and stdlib logging (uvicorn included) through one renderer; with
    `instance_id`, every line carries it."""
    renderer: Processor
    renderer = structlog.processors.JSONRenderer() if fmt is LogFormat.JSON else ConsoleRenderer()
    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact,
        renderer,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(instance_id), processors=final
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.value)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(instance_id),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind(**fields: Any) -> None:
    """Bind fields to every log line of the current task (and tasks it creates)."""
    structlog.contextvars.bind_contextvars(**fields)
