"""Logging: one structlog pipeline for our own events and for uvicorn's.

A console line reads `event key=value ...` (`leadership_acquired instance_id=abc`), then the
level, logger and timestamp; `LOG_FORMAT=json` gives one JSON object per line. Context bound
with `structlog.contextvars` (the request id, an operation id) rides on every line.

Secrets never reach a log: `redact` masks the values of secret-looking keys and the password
of any URL with credentials, in our events and in foreign (stdlib) records alike. It must
stay the last processor before rendering so nothing added later escapes it. It reads text by
structure (known keys, URL userinfo, auth schemes) in one pass that never backtracks, and
cuts every value to a fixed length with a visible marker: a hostile URL or header costs a
log call time linear in its size, never more. Text holding none of the words a secret would
follow (the usual case) is let through after one lowercase substring scan. The access log
is not uvicorn's formatted line but a structured event (`app.observability.access_log`).
"""

from __future__ import annotations

import datetime
import functools
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from app.config.settings import LogFormat, LogLevel

MASK = "***"
# Longest URL (and any other single value) a log line carries; the rest is cut with a
# visible marker, before scrubbing, so a hostile request costs the log a bounded amount.
MAX_LOGGED_URL_CHARS = 2048
MAX_LOGGED_VALUE_CHARS = 4096
# A traceback is kept longer: it is ours, not a client's.
MAX_LOGGED_TRACEBACK_CHARS = 65536
# Every pattern below is matched by a scan that never backtracks over its input (possessive
# quantifiers, literal alternatives, one pass per position): a log call costs time linear in
# what it logs, whatever a client puts in a URL or a header (issue 12, item 1).
_SECRET_WORDS = (
    r"pass(?:word|wd|phrase)|(?<![a-z])pass(?![a-z])|secret|token|api[_-]?key|apikey"
    r"|authorization|kubeconfig|credentials?|private[_-]?key|cookie"
)
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE)
# A word holds one of these (lowercased) before the expression above is worth running: a
# substring test is a fast scan, so a long ordinary word (`?name=aaaa...`) costs little.
_SECRET_STEMS = (
    "pass",
    "secret",
    "token",
    "key",
    "authorization",
    "kubeconfig",
    "credential",
    "cookie",
)
# Text with none of these (any case) holds nothing any pattern below would mask: a secret
# word holds a stem, an auth scheme names itself, a URL password follows `://`. Substring
# scans in C, so an ordinary line (a path, a timestamp, an event name) costs little more.
_HINTS = (*_SECRET_STEMS, "bearer", "basic", "://")
# "Bearer abc.def" / "Basic dXNlcjpw" in free text (an echoed header)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|token)(\s++)[A-Za-z0-9._~+/=-]++")
# A word that may be a key: `password`, `db_password`, `api-key`, `x.token`.
_WORD = re.compile(r"[\w.-]++")
# What makes a word a key: an optional closing quote, `=` or `:`, an optional opening quote.
_SEPARATOR = re.compile(r"""["']?+\s*+[:=]\s*+(["']?+)""")
_QUOTED_VALUE = re.compile(r"""[^"']*+""")
_BARE_VALUE = re.compile(r"[^\s&,;)}\]]*+")
_URL_USER = re.compile(r"[^:/@\s]*+")
_TOKEN_END = re.compile(r"\S*+")

_LAST_KEYS = ("level", "logger", "timestamp")


def bound(text: str, limit: int = MAX_LOGGED_VALUE_CHARS) -> str:
    """`text` cut to `limit` characters, with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[truncated {len(text) - limit} chars]"


def scrub_text(text: str) -> str:
    """Mask credentials embedded in free text: URLs with a password, auth headers,
    `key=value` and `"key": "value"` pairs whose key looks secret, secret query parameters.
    Linear in `len(text)`."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    text = _mask_url_passwords(text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _mask_secret_pairs(text)


def _mask_url_passwords(text: str) -> str:
    """scheme://user:password@host -> scheme://user:***@host, to the token's last `@` (so a
    password holding `@` is masked whole). Each character is looked at a bounded number of
    times: the scan resumes past everything it has read."""
    out: list[str] = []
    pos = 0
    while (found := text.find("://", pos)) != -1:
        user_end = _URL_USER.match(text, found + 3).end()  # type: ignore[union-attr]
        if user_end >= len(text) or text[user_end] != ":":
            out.append(text[pos:user_end])
            pos = user_end
            continue
        token_end = _TOKEN_END.match(text, user_end).end()  # type: ignore[union-attr]
        at = text.rfind("@", user_end, token_end)
        if at == -1:
            out.append(text[pos:token_end])
            pos = token_end
            continue
        out.append(f"{text[pos : user_end + 1]}{MASK}")
        pos = at
    out.append(text[pos:])
    return "".join(out)


def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    return any(stem in lowered for stem in _SECRET_STEMS) and bool(_SECRET_KEY.search(key))


# An event's keys are few and written in the code (`request_id`, `db_id`): each is judged
# once. Bounded, so keys of a logged mapping from outside cannot grow it without end.
looks_secret = functools.lru_cache(maxsize=4096)(_looks_secret)


def _mask_secret_pairs(text: str) -> str:
    """password=..., "password": "...", 'api_key': '...', ?token=...: the value masked."""
    out: list[str] = []
    pos = 0  # everything before it is in `out`
    scan = 0
    while (word := _WORD.search(text, scan)) is not None:
        scan = word.end()
        if not _looks_secret(word.group()):
            continue
        separator = _SEPARATOR.match(text, scan)
        if separator is None:
            continue
        quote = separator.group(1)
        value = (_QUOTED_VALUE if quote else _BARE_VALUE).match(text, separator.end())
        assert value is not None  # both match the empty string at worst
        if not quote and value.end() == separator.end():
            continue  # `password=` with nothing after it
        out.append(f"{text[pos : separator.end()]}{MASK}")
        pos = scan = value.end()
    out.append(text[pos:])
    return "".join(out)


def _scrub(key: str, value: Any) -> Any:
    if value is not None and looks_secret(key):
        return MASK
    if isinstance(value, str):
        limit = MAX_LOGGED_TRACEBACK_CHARS if key == "exception" else MAX_LOGGED_VALUE_CHARS
        # Scrubbed whole, then cut: a cut first could split `user:password@` from its `@`.
        return bound(scrub_text(value), limit)
    if isinstance(value, Mapping):
        return {bound(str(k)): _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(key, v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception, a settings object) is rendered as text later: scrub
    # that text now, so no renderer ever sees the raw object.
    return bound(scrub_text(str(value)))


def redact(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    return {key: _scrub(key, value) for key, value in event_dict.items()}


# A value holding one of these is quoted (one regex scan: a generator over the characters
# was a fifth of an access line's cost).
_NEEDS_QUOTES = re.compile(r'[ ="\n\t]')


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text == "" or _NEEDS_QUOTES.search(text):
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


class _ScrubbedSink:
    """Writes an event whose every value its caller scrubbed by structure (the access log),
    rendered as any other line, straight to the one handler's stream under its lock: no
    LogRecord, no processor chain, no free-text scan (issue 19: the access line was ~30 % of
    a GET). Only for values that can hold no secret or were masked field by field; context
    bound with `bind` is not merged in, so the caller passes every field (the request id)."""

    def __init__(
        self, handler: logging.StreamHandler[TextIO], renderer: Processor, instance_id: str | None
    ) -> None:
        self._handler = handler
        self._renderer = renderer
        self._instance_id = instance_id

    def write(self, name: str, event: str, fields: dict[str, Any]) -> None:
        event_dict: dict[str, Any] = {"event": event, **fields}
        if self._instance_id is not None:
            event_dict["instance_id"] = self._instance_id
        event_dict["level"] = "info"
        event_dict["logger"] = name
        now = datetime.datetime.now(datetime.UTC)
        event_dict["timestamp"] = now.isoformat().replace("+00:00", "Z")
        rendered = self._renderer(None, "info", event_dict)
        line = rendered.decode() if isinstance(rendered, bytes | bytearray) else str(rendered)
        handler = self._handler
        handler.acquire()
        try:
            handler.stream.write(f"{line}{handler.terminator}")
            handler.flush()
        except OSError:
            handler.handleError(logging.makeLogRecord({"msg": line, "name": name}))
        finally:
            handler.release()


_sink: _ScrubbedSink | None = None


def write_scrubbed(name: str, event: str, fields: dict[str, Any]) -> None:
    """An INFO event of logger `name` whose `fields` hold no secret (already masked by their
    structure); nothing when that logger is not enabled for INFO."""
    if _sink is not None and _logger(name).isEnabledFor(logging.INFO):
        _sink.write(name, event, fields)


@functools.cache
def _logger(name: str) -> logging.Logger:
    """`logging.getLogger`, remembered: it takes the logging module's lock on every call."""
    return logging.getLogger(name)


def configure_logging(
    *,
    level: LogLevel,
    fmt: LogFormat,
    stream: TextIO | None = None,
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
    global _sink
    _sink = _ScrubbedSink(handler, renderer, instance_id)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.value)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # uvicorn writes its access line only to a logger with handlers: none, so it skips even
    # formatting it. The request middleware writes the access event (app.observability.access_log).
    logging.getLogger("uvicorn.access").propagate = False
    # The cluster client logs every request at INFO: about 14 lines per database created,
    # a tenth of the create path's CPU (issue 19). Kept at DEBUG.
    cluster_client = logging.DEBUG if level is LogLevel.DEBUG else logging.WARNING
    logging.getLogger("httpx2").setLevel(cluster_client)
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
