"""The cluster gateway: KubeDB custom resources, secrets, services and the version catalog on
one Kubernetes cluster, through lightkube's async client.

Resources are addressed by the domain's `Resource` descriptors (`engines.spec(e).
database_resource`, `.ops_resource`, `.catalog_resource`), so the gateway knows no engine by
name. Every method raises the `app.cluster.errors` tree, never a lightkube or httpx
exception: the operation engine retries `errors.TEMPORARY` and fails on the rest.

Objects go in and come out as plain dicts. Writes are merge patches (never strategic-merge,
which custom resources refuse) and creates; a create that finds the object already there
raises `AlreadyExists`, which a step treats as done (names are deterministic). The passes
over every database list with `list_narrow`: each page decoded into only the fields they read
(`narrow_pages`), never into whole objects.
"""

from __future__ import annotations

import base64
import builtins
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx2
from lightkube import ALL_NS, AsyncClient
from lightkube.core.exceptions import ApiError, ConfigError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.resources.core_v1 import Namespace, Secret, Service
from lightkube.types import OnErrorAction, OnErrorResult, PatchType

from app.cluster import errors, narrow_pages
from app.cluster.config import LIST_CHUNK, ClusterConnection
from app.cluster.lightkube_config import to_lightkube
from app.cluster.recent_writes import DEFAULT_TTL, RecentWrites
from app.domain.credentials import Credentials as Credentials  # the gateway's own value too
from app.domain.engines import Resource
from app.observability.metrics import Metrics, outcome_of

FIELD_MANAGER = "kubedb-dbaas"

# A dropped watch resumes after 0.1, 0.2, 0.4 ... s (at most 5 s), five times; a sixth
# failure in a row ends it (`on_error` below).


class Backoff(Protocol):
    """The retry policy a watch resumes a dropped stream with: the engine's `RetryPolicy`,
    handed in by whoever builds the gateway (the cluster layer sits below the engine)."""

    def delay(self, attempt: int) -> float: ...

    def exhausted(self, attempt: int) -> bool: ...


# A paginated list whose snapshot was compacted away between pages starts over this many
# times (each failed attempt is counted as a `list` call with outcome `expired`).
_RELISTS = 3
T = TypeVar("T")
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    object: dict[str, Any]


def _model(resource: Resource) -> Any:
    make = create_namespaced_resource if resource.namespaced else create_global_resource
    return make(resource.group, resource.version, resource.kind, resource.plural)


def _same(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def _plain(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        result: dict[str, Any] = obj.to_dict()
        return result
    plain: dict[str, Any] = json.loads(json.dumps(obj, default=str))
    return plain


def translate(exc: BaseException) -> errors.ClusterError:
    """One place that turns lightkube/httpx failures into the cluster error tree."""
    if isinstance(exc, ApiError):
        status = exc.status.to_dict() if exc.status is not None else {}
        code = int(status.get("code") or exc.response.status_code if exc.response else 0)
        retry_after = exc.response.headers.get("Retry-After") if exc.response else None
        return errors.from_status(code, status, retry_after=retry_after)
    if isinstance(exc, httpx2.TimeoutException):
        return errors.Unavailable(f"the cluster did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx2.TransportError):
        return errors.Unavailable(f"cannot reach the cluster: {type(exc).__name__}: {exc}")
    if isinstance(exc, httpx2.HTTPStatusError):
        response = exc.response
        return errors.from_status(
            response.status_code, None, retry_after=response.headers.get("Retry-After")
        )
    if isinstance(exc, ValueError):  # an answer that is not the JSON it should be
        return errors.Unavailable(f"the cluster sent an unreadable answer: {exc}")
    return errors.ClusterError(f"{type(exc).__name__}: {exc}")


class KubeGateway:
    def __init__(
        self,
        client: AsyncClient,
        *,
        metrics: Metrics | None = None,
        watch_retry: Backoff | None = None,
        remember_for: float = DEFAULT_TTL,
    ) -> None:
        self._client = client
        self._metrics = metrics or Metrics()
        # None: a watch ends at its first error (no stream is resumed).
        self._watch_retry = watch_retry
        # What the services wrote through this gateway and key on it (the shared backup
        # objects): not written again within `remember_for` seconds.
        self.recent = RecentWrites(remember_for)

    async def _call(self, verb: str, awaitable: Any) -> Any:
        """Await one API call: counted and timed by verb and outcome, its errors translated."""
        began = time.perf_counter()
        failure: BaseException | None = None
        try:
            return await awaitable
        except (ApiError, httpx2.HTTPError, ValueError) as exc:
            failure = translate(exc)
            raise failure from exc
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._metrics.cluster_call(verb, outcome_of(failure), time.perf_counter() - began)

    @classmethod
    def connect(
        cls,
        connection: ClusterConnection,
        *,
        timeout: float = 10.0,
        metrics: Metrics | None = None,
        watch_retry: Backoff | None = None,
        remember_for: float = DEFAULT_TTL,
    ) -> KubeGateway:
        try:
            client = AsyncClient(
                to_lightkube(connection),
                timeout=httpx2.Timeout(timeout),
                field_manager=FIELD_MANAGER,
                trust_env=False,
            )
        except ConfigError as exc:  # lightkube's own; its message may quote the kubeconfig
            raise errors.KubeconfigUnusable(
                f"the kubeconfig cannot be used ({type(exc).__name__})"
            ) from exc
        return cls(client, metrics=metrics, watch_retry=watch_retry, remember_for=remember_for)

    async def close(self) -> None:
        await self._client.close()

    # --- custom resources ------------------------------------------------------------

    async def create(self, resource: Resource, obj: Mapping[str, Any]) -> dict[str, Any]:
        # The object's own metadata.namespace says where a namespaced object goes.
        client: Any = self._client
        created = await self._call("create", client.create(_model(resource)(dict(obj))))
        return _plain(created)

    async def get(
        self, resource: Resource, name: str, *, namespace: str | None = None
    ) -> dict[str, Any]:
        found = await self._call(
            "get", self._client.get(_model(resource), name, namespace=namespace)
        )
        return _plain(found)

    async def find(
        self, resource: Resource, name: str, *, namespace: str | None = None
    ) -> dict[str, Any] | None:
        try:
            return await self.get(resource, name, namespace=namespace)
        except errors.NotFound:
            return None

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        chunk_size: int = LIST_CHUNK,
        all_namespaces: bool = False,
    ) -> list[dict[str, Any]]:
        """All matching objects, fetched in pages of `chunk_size` (limit/continue): of
        `namespace`, of every namespace with `all_namespaces`, else of the kubeconfig's.

        The pages are one snapshot; when the server compacted it away between two pages
        (410 Expired on a continue token) the list starts over, at most `_RELISTS` times."""
        return await self.list_reduced(
            resource,
            _same,
            namespace=namespace,
            labels=labels,
            chunk_size=chunk_size,
            all_namespaces=all_namespaces,
        )

    async def list_reduced(
        self,
        resource: Resource,
        reduce: Callable[[dict[str, Any]], T],
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        chunk_size: int = LIST_CHUNK,
        all_namespaces: bool = False,
    ) -> builtins.list[T]:
        """As `list`, each object handed to `reduce` as its page arrives and only what it
        returns kept: one page of objects is alive at a time, so a pass over 100,000 CRs
        holds its compact records, never the CRs. A relist (410) reduces every object
        again, into a new list."""
        where = ALL_NS if all_namespaces else namespace

        async def every_page() -> builtins.list[T]:
            listing = self._client.list(
                _model(resource),
                namespace=where if resource.namespaced else None,
                labels=dict(labels) if labels else None,
                chunk_size=chunk_size,
            )
            return [reduce(_plain(item)) async for item in listing]

        return await self._relisting(every_page)

    async def list_narrow(
        self,
        resource: Resource,
        shape: type[S],
        reduce: Callable[[S], T],
        whole: Callable[[dict[str, Any]], T],
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        chunk_size: int = LIST_CHUNK,
        all_namespaces: bool = False,
    ) -> builtins.list[T]:
        """As `list_reduced`, each page decoded straight from the response body into
        `shape` (a `msgspec.Struct` naming only the fields `reduce` reads: the rest of each
        object is skipped, never built), each item handed to `reduce`. A page that does not
        fit `shape` (a field of another JSON type) is decoded as `list` decodes it and its
        objects handed to `whole`, which must return what `reduce` would."""
        where = ALL_NS if all_namespaces else namespace
        return await self._relisting(
            lambda: narrow_pages.every_page(
                self._client,
                _model(resource),
                namespace=where if resource.namespaced else None,
                labels=labels,
                chunk_size=chunk_size,
                shape=shape,
                reduce=reduce,
                whole=lambda obj: whole(_plain(obj)),
            )
        )

    async def _relisting(
        self, every_page: Callable[[], Awaitable[builtins.list[T]]]
    ) -> builtins.list[T]:
        """`every_page()`, started over on 410 Expired, at most `_RELISTS` times."""
        for _ in range(_RELISTS):
            try:
                items: builtins.list[T] = await self._call("list", every_page())
                return items
            except errors.Expired:
                continue  # counted by `_call`; list again from the start
        last: builtins.list[T] = await self._call("list", every_page())
        return last

    async def probe(self, resource: Resource) -> None:
        """One list request for at most one object, across namespaces: raises `NotFound`
        when the API server does not serve the resource (its CRD is not installed)."""
        listing = self._client.list(
            _model(resource),
            namespace=ALL_NS if resource.namespaced else None,
            chunk_size=1,
        )

        async def first_page() -> None:
            async for _ in listing:
                break

        await self._call("list", first_page())

    async def merge_patch(
        self,
        resource: Resource,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        patched = await self._call(
            "patch",
            self._client.patch(
                _model(resource),
                name,
                dict(patch),
                namespace=namespace,
                patch_type=PatchType.MERGE,
            ),
        )
        return _plain(patched)

    async def delete(self, resource: Resource, name: str, *, namespace: str | None = None) -> None:
        await self._call("delete", self._client.delete(_model(resource), name, namespace=namespace))

    async def watch(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        resource_version: str | None = None,
        server_timeout: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Events from `resource_version` (or the current objects as ADDED, then changes).

        A dropped stream resumes from the last event seen; a 410 (too old) starts over with
        the current objects. Errors end the watch once the gateway's `watch_retry` is exhausted
        (at once without one).
        """

        def on_error(exc: Exception, count: int) -> OnErrorResult:
            retryable = isinstance(translate(exc), (*errors.TEMPORARY, errors.Expired))
            policy = self._watch_retry
            if policy is None or policy.exhausted(count) or not retryable:
                return OnErrorResult(OnErrorAction.RAISE)
            return OnErrorResult(OnErrorAction.RETRY, sleep=policy.delay(count))

        stream = self._client.watch(
            _model(resource),
            namespace=namespace if resource.namespaced else None,
            labels=dict(labels) if labels else None,
            resource_version=resource_version,
            server_timeout=server_timeout,
            on_error=on_error,
        )
        try:
            async for kind, obj in stream:
                yield WatchEvent(str(kind), _plain(obj))
        except (ApiError, httpx2.HTTPError, ValueError) as exc:
            raise translate(exc) from exc

    # --- core objects ----------------------------------------------------------------

    async def ensure_namespace(self, name: str) -> None:
        try:
            await self._call(
                "create",
                self._client.create(
                    Namespace.from_dict(
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                    )
                ),
            )
        except errors.AlreadyExists:
            return

    async def read_credentials(self, namespace: str, secret_name: str) -> Credentials:
        """The `username`/`password` of a basic-auth secret (KubeDB's `<name>-auth`)."""
        secret = _plain(
            await self._call("get", self._client.get(Secret, secret_name, namespace=namespace))
        )
        data = secret.get("data") or {}
        try:
            return Credentials(
                username=base64.b64decode(data["username"]).decode(),
                password=base64.b64decode(data["password"]).decode(),
            )
        except (KeyError, ValueError) as exc:
            raise errors.Invalid(
                f"secret {namespace}/{secret_name} has no usable username and password"
            ) from exc

    async def write_auth_secret(
        self, namespace: str, name: str, credentials: Credentials, *, labels: Mapping[str, str]
    ) -> None:
        """Create the basic-auth secret `name`, or overwrite the username and password of one
        that is there (left by an earlier database of the same name)."""
        await self.write_secret(
            namespace,
            name,
            {"username": credentials.username, "password": credentials.password},
            labels=labels,
            secret_type="kubernetes.io/basic-auth",
        )

    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        secret_type: str = "Opaque",
    ) -> None:
        """Create the secret `name` holding `data`, or overwrite those keys and the labels
        of one that is there."""
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        metadata = {"name": name, "namespace": namespace, "labels": dict(labels)}
        try:
            await self._call(
                "create",
                self._client.create(
                    Secret.from_dict(
                        {
                            "apiVersion": "v1",
                            "kind": "Secret",
                            "metadata": metadata,
                            "type": secret_type,
                            "data": encoded,
                        }
                    )
                ),
            )
        except errors.AlreadyExists:
            await self._call(
                "patch",
                self._client.patch(
                    Secret,
                    name,
                    {"metadata": {"labels": dict(labels)}, "data": encoded},
                    namespace=namespace,
                    patch_type=PatchType.MERGE,
                ),
            )

    async def secret_labels(self, namespace: str, name: str) -> dict[str, str] | None:
        """The labels of a secret (no data is read into the answer); None when absent."""
        try:
            secret = _plain(
                await self._call("get", self._client.get(Secret, name, namespace=namespace))
            )
        except errors.NotFound:
            return None
        found = (secret.get("metadata") or {}).get("labels") or {}
        return {str(key): str(value) for key, value in found.items()}

    async def delete_secret(
        self, namespace: str, name: str, *, labelled: Mapping[str, str]
    ) -> bool:
        """Delete the secret if it carries every label of `labelled` (so that only what the
        caller made is removed); False when it is not there or not the caller's."""
        try:
            secret = _plain(
                await self._call("get", self._client.get(Secret, name, namespace=namespace))
            )
        except errors.NotFound:
            return False
        present = (secret.get("metadata") or {}).get("labels") or {}
        if any(present.get(key) != value for key, value in labelled.items()):
            return False
        try:
            await self._call("delete", self._client.delete(Secret, name, namespace=namespace))
        except errors.NotFound:
            return False
        return True

    async def read_service(self, namespace: str, name: str) -> dict[str, Any]:
        return _plain(await self._call("get", self._client.get(Service, name, namespace=namespace)))

    async def ping(self) -> None:
        """One cheap authenticated call; raises a ClusterError when the cluster is not there."""
        await self._call("get", self._client.get(Namespace, "default"))
