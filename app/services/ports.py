"""The ports of the services layer: what a use case may ask of a cluster, of the operation
queue and of Redis, as Protocols. The adapters satisfy them structurally and are chosen by
`app.main`; tests hand services the in-memory fakes of `tests/fakes.py`.

    port                 adapter (production)                  what it is for
    ClusterGateway       app.cluster.gateway.KubeGateway       one Kubernetes cluster
    Connect              KubeGateway.connect                   a gateway for a connection
    OperationQueue       app.broker.streams.OperationQueue     wake-ups for the workers
    Locks                app.broker.locks.RedisLocks           placement's per-database lock
    TokenBuckets         app.broker.counters.RedisTokenBuckets rate limits
    IdempotencyRecords   app.broker.idempotency.RedisIdempotencyRecords

Errors stay those of each adapter's own tree, which imports no client library:
`app.cluster.errors` (ClusterError ...) and `app.broker.errors` (BrokerError,
BrokerUnavailable). Must not: import an adapter or a client library (Redis's, Kubernetes',
HTTP: an import-linter contract), or hold logic.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from app.cluster.config import ClusterConnection
from app.cluster.recent_writes import RecentWrites
from app.domain.credentials import Credentials
from app.domain.engines import Resource
from app.observability.metrics import Metrics

T = TypeVar("T")
S = TypeVar("S")


class ClusterGateway(Protocol):
    """One cluster, objects as plain dicts. Raises the `app.cluster.errors` tree: `NotFound`,
    `AlreadyExists` (a create that already happened), the temporary ones (retry) ...

    A database's AppBinding (`domain.data_plane.APP_BINDING`: where it serves, whether a
    real server does) is read with `find` (credentials, create) and `list` (status sync)."""

    @property
    def recent(self) -> RecentWrites:
        """What the services wrote to this cluster lately (the shared backup objects), by
        their own keys: not written again within its TTL."""
        ...

    async def create(self, resource: Resource, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    async def find(
        self, resource: Resource, name: str, *, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or None when it is not there."""
        ...

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        chunk_size: int = ...,
        all_namespaces: bool = False,
    ) -> list[dict[str, Any]]: ...

    async def list_reduced(
        self,
        resource: Resource,
        reduce: Callable[[dict[str, Any]], T],
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        chunk_size: int = ...,
        all_namespaces: bool = False,
    ) -> builtins.list[T]:
        """As `list`, each object reduced by `reduce` as its page arrives (one page of
        objects alive at a time): the passes over every database keep compact records."""
        ...

    async def list_narrow(
        self,
        resource: Resource,
        shape: type[S],
        reduce: Callable[[S], T],
        whole: Callable[[dict[str, Any]], T],
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        chunk_size: int = ...,
        all_namespaces: bool = False,
    ) -> builtins.list[T]:
        """As `list_reduced`, each object decoded from the response into `shape` (a
        `msgspec.Struct` of only the fields `reduce` reads); a page that does not fit
        `shape` is decoded whole and handed to `whole`, which returns what `reduce` would."""
        ...

    async def probe(self, resource: Resource) -> None:
        """`NotFound` when the cluster does not serve `resource` (no CRD)."""
        ...

    async def merge_patch(
        self,
        resource: Resource,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
    ) -> dict[str, Any]: ...

    async def delete(
        self, resource: Resource, name: str, *, namespace: str | None = None
    ) -> None: ...

    async def ensure_namespace(self, name: str) -> None: ...

    async def read_credentials(self, namespace: str, secret_name: str) -> Credentials: ...

    async def write_auth_secret(
        self, namespace: str, name: str, credentials: Credentials, *, labels: Mapping[str, str]
    ) -> None: ...

    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        secret_type: str = "Opaque",
    ) -> None:
        """Create the secret, or overwrite its `data` keys and labels."""

    async def secret_labels(self, namespace: str, name: str) -> dict[str, str] | None: ...

    async def delete_secret(
        self, namespace: str, name: str, *, labelled: Mapping[str, str]
    ) -> bool:
        """Delete the secret if it carries every label of `labelled`; False otherwise."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class Connect(Protocol):
    """Make a gateway for `connection`. Raises `app.cluster.errors.KubeconfigUnusable` (or
    `ValueError`, `OSError` ... for a kubeconfig that cannot be read)."""

    def __call__(
        self,
        connection: ClusterConnection,
        *,
        timeout: float = ...,
        metrics: Metrics | None = ...,
        remember_for: float = ...,
    ) -> ClusterGateway: ...


class QueueDepth(Protocol):
    @property
    def ready(self) -> int: ...

    @property
    def pending(self) -> int: ...

    @property
    def delayed(self) -> int: ...


class OperationQueue(Protocol):
    """The services' view of the operation queue: wake-ups only (the store holds the truth).
    Raises `BrokerError` / `BrokerUnavailable`."""

    async def enqueue(self, operation_id: str) -> None: ...

    async def depth(self) -> QueueDepth: ...


class Locks(Protocol):
    """Named locks shared by every instance, each with a lease. Raises `BrokerError` /
    `BrokerUnavailable` when the locks cannot be reached."""

    async def acquire(self, name: str, *, ttl: float, wait: float) -> str | None:
        """Take lock `name` for at most `ttl` seconds, waiting up to `wait` seconds for its
        holder to let go (without polling); the token that releases it, or None when it
        stayed held."""
        ...

    async def release(self, name: str, token: str) -> None:
        """Let go of `name` if `token` still holds it, waking one waiter."""
        ...


class TokenBuckets(Protocol):
    """Counters refilled over time (`burst` at most, `rate_per_ms` a millisecond), shared by
    every instance. Raises `BrokerError` / `BrokerUnavailable`."""

    async def take(
        self, bucket: str, *, rate_per_ms: float, burst: int, wanted: int
    ) -> tuple[int, int]:
        """Take up to `wanted` whole tokens: (granted, milliseconds until the next token
        when none was granted, else 0). A bucket never seen before is full."""
        ...


class IdempotencyRecords(Protocol):
    """Text records by name, each expiring `ttl` seconds after it was written. Raises
    `BrokerError` / `BrokerUnavailable`."""

    async def claim(self, name: str, record: str, *, ttl: int) -> str | None:
        """Store `record` unless `name` holds one: None when stored, else the one there
        (atomically)."""
        ...

    async def replace(self, name: str, record: str, *, ttl: int) -> None: ...

    async def remove(self, name: str) -> None: ...
