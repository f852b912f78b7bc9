"""Registering providers: create, read, change and remove the clusters databases go to.

Before a provider is stored, and whenever its connection changes, its cluster is checked:
it must answer, and serve the KubeDB resources (databases, OpsRequests and the catalog of
every engine); otherwise `ProviderUnreachable` says why. A kubeconfig given as content is
stored encrypted (`app.encryption`) and never returned, logged or put in an error.

Errors (a branch of the service tree, `app.services.errors`, which gives their answers):

    ProviderError
    ├── ProviderNotFound        no such provider
    ├── ProviderNameTaken       another provider has the name
    ├── ProviderUnreachable     the cluster did not answer, or lacks KubeDB (with the reason)
    ├── InvalidKubeconfig       the content is neither a kubeconfig nor base64 of one
    ├── EncryptionUnavailable   a kubeconfig's content, but no ENCRYPTION_KEY to store it
    └── ProviderInUse           databases still live on it (with how many)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.cluster import errors as cluster_errors
from app.cluster.config import ClusterConnection, parse_kubeconfig, refuse_unsafe
from app.domain import clock, engines
from app.domain.providers import Provider, ResourceKind
from app.encryption import Cipher
from app.observability.log import get_logger
from app.services.catalog import CatalogService, OfferedVersion
from app.services.clusters import ClusterFleet, ClusterUnavailable, connection_for
from app.services.errors import ServiceError
from app.services.ports import Connect
from app.store import errors as store_errors
from app.store.protocols import DatabaseFilter, Page, ProviderFilter, Store

log = get_logger(__name__)

# Seconds a connectivity check may take per request.
CHECK_TIMEOUT = 5.0
CONNECTION_FIELDS = ("kubeconfig_content", "kubeconfig_path", "api_endpoint", "verify_ssl")


class ProviderError(ServiceError):
    status = 422
    code = "provider_unreachable"


class ProviderNotFound(ProviderError):
    status = 404
    code = "not_found"


class ProviderNameTaken(ProviderError):
    status = 409
    code = "provider_name_taken"


class ProviderUnreachable(ProviderError):
    pass


class InvalidKubeconfig(ProviderError):
    """A field error on the kubeconfig: answered as the API's `validation_error`."""

    code = "validation_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"fields": {"kubeconfig_content": message}})
        self.message = "the request is not valid"


class EncryptionUnavailable(ProviderError):
    """A kubeconfig's content but no key to store it: answered as InvalidKubeconfig is."""

    code = "validation_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"fields": {"kubeconfig_content": message}})
        self.message = "the request is not valid"


class ProviderInUse(ProviderError):
    status = 409
    code = "provider_in_use"

    def __init__(self, name: str, databases: int) -> None:
        super().__init__(
            f"provider {name} still has {databases} database(s) or capacity "
            "reserved by one being created; delete or move them first",
            details={"databases": databases},
        )
        self.databases = databases


def kubeconfig_text(content: str) -> str:
    """Raw YAML, or base64 of it, as the text of a kubeconfig that holds its credentials
    (`refuse_unsafe`); `InvalidKubeconfig` otherwise. Messages never quote the content."""
    try:
        config = parse_kubeconfig(content)
        text = content
    except ValueError as raw_problem:
        try:
            text = base64.b64decode(content.strip(), validate=True).decode()
            config = parse_kubeconfig(text)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidKubeconfig(
                f"kubeconfig_content is neither a kubeconfig nor base64 of one ({raw_problem})"
            ) from None
    try:
        refuse_unsafe(config)
    except ValueError as exc:
        raise InvalidKubeconfig(f"kubeconfig_content: {exc}") from None
    return text


def allowed_path(path: str, directory: Path) -> str:
    """`path` if it names a file inside `directory` (PROVIDER_KUBECONFIG_DIR), resolved;
    `InvalidKubeconfig` otherwise: an API client must not make the control plane read any
    file it likes."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(directory.resolve()):
        raise InvalidKubeconfig(
            f"kubeconfig_path must be a file under {directory} (PROVIDER_KUBECONFIG_DIR)"
        )
    if not resolved.is_file():
        raise InvalidKubeconfig(f"kubeconfig_path {path} is not a file")
    return str(resolved)


async def check_cluster(connection: ClusterConnection, connect: Connect) -> None:
    """The cluster answers and serves KubeDB; `ProviderUnreachable` with the reason."""
    try:
        gateway = connect(connection, timeout=CHECK_TIMEOUT, metrics=None)
    except (cluster_errors.KubeconfigUnusable, ValueError, KeyError, TypeError, OSError) as exc:
        # Our own messages (refuse_unsafe, parse_kubeconfig, the gateway's) quote no content;
        # others may.
        reason = (
            str(exc)
            if isinstance(exc, ValueError | cluster_errors.KubeconfigUnusable)
            else type(exc).__name__
        )
        raise ProviderUnreachable(f"the kubeconfig cannot be used: {reason}") from None
    except Exception as exc:  # the boundary of a client's kubeconfig: never a 500
        raise ProviderUnreachable(f"the kubeconfig cannot be used: {type(exc).__name__}") from None
    try:
        try:
            await gateway.ping()
        except cluster_errors.Unauthorized as exc:
            raise ProviderUnreachable(
                f"the cluster refused the credentials: {exc.message}"
            ) from None
        except cluster_errors.ClusterError as exc:
            raise ProviderUnreachable(f"the cluster does not answer: {exc.message}") from None
        for engine in engines.Engine:
            spec = engines.spec(engine)
            for resource in (spec.database_resource, spec.ops_resource, spec.catalog_resource):
                try:
                    await gateway.probe(resource)
                except cluster_errors.NotFound:
                    raise ProviderUnreachable(
                        f"KubeDB is not installed: the cluster does not serve "
                        f"{resource.plural}.{resource.group}"
                    ) from None
                except cluster_errors.ClusterError as exc:
                    raise ProviderUnreachable(
                        f"cannot read {resource.plural}.{resource.group}: {exc.message}"
                    ) from None
    except ProviderUnreachable:
        raise
    except Exception as exc:  # anything else the client's kubeconfig provokes
        raise ProviderUnreachable(
            f"the cluster could not be checked: {type(exc).__name__}"
        ) from None
    finally:
        await gateway.close()


class ProviderService:
    def __init__(
        self,
        store: Store,
        fleet: ClusterFleet,
        *,
        cipher: Cipher | None,
        kubeconfig_dir: Path,
        catalog_for: Any = None,
    ) -> None:
        self._kubeconfig_dir = kubeconfig_dir
        self._store = store
        self._fleet = fleet
        self._cipher = cipher
        # (ClusterGateway) -> CatalogService: the offered versions of one provider's cluster.
        self._catalog_for = catalog_for

    async def create(self, fields: Mapping[str, Any]) -> Provider:
        values = dict(fields)
        values.update(await self._connection_fields(values))
        provider = Provider.model_validate(values)
        try:
            created = await self._store.providers.insert(provider)
        except store_errors.NameTaken as exc:
            raise ProviderNameTaken(str(exc)) from None
        log.info(
            "provider_created", provider_id=created.id, name=created.name, region=created.region
        )
        return created

    async def get(self, provider_id: str) -> Provider:
        provider = await self._store.providers.get(provider_id)
        if provider is None:
            raise ProviderNotFound(f"provider {provider_id} not found")
        return provider

    async def page(self, where: ProviderFilter, *, offset: int, limit: int) -> Page[Provider]:
        return await self._store.providers.list(where, offset=offset, limit=limit)

    async def update(self, provider_id: str, changes: Mapping[str, Any]) -> Provider:
        """Apply `changes`; a new connection is checked once, then written. The fields
        written are never the allocations, so no revision is needed: a reservation in
        between keeps its figures."""
        current = await self.get(provider_id)
        values = dict(changes)
        if any(name in values for name in CONNECTION_FIELDS):
            merged = {
                "kubeconfig_content": values.get("kubeconfig_content"),
                "kubeconfig_path": values.get("kubeconfig_path"),
                "api_endpoint": values.get("api_endpoint"),
                "verify_ssl": values.get("verify_ssl", current.verify_ssl),
            }
            if not any(
                merged[k] for k in ("kubeconfig_content", "kubeconfig_path", "api_endpoint")
            ):
                # Only verify_ssl changed: keep the connection the provider has.
                merged.update(self._current_connection(current))
            values.update(await self._connection_fields(merged))
        values.pop("kubeconfig_content", None)
        values["updated_at"] = clock.utcnow()
        try:
            updated = await self._store.providers.update_fields(provider_id, values)
        except store_errors.NameTaken as exc:
            raise ProviderNameTaken(str(exc)) from None
        except store_errors.NotFound:
            raise ProviderNotFound(f"provider {provider_id} not found") from None
        log.info(
            "provider_updated",
            provider_id=provider_id,
            fields=sorted(k for k in changes if k != "kubeconfig_content"),
        )
        return updated

    async def delete(self, provider_id: str) -> None:
        """Refused while databases are on it or capacity is reserved on it (a create in
        flight); the delete is conditional on the provider not changing meanwhile."""
        for _ in range(5):
            provider = await self.get(provider_id)
            using = await self._store.databases.list(
                DatabaseFilter(provider_id=provider_id), limit=0
            )
            held = any(provider.allocated(kind) > 0 for kind in ResourceKind)
            if using.total or held:
                raise ProviderInUse(provider.name, using.total)
            if await self._store.providers.delete(provider_id, expected_revision=provider.revision):
                log.info("provider_deleted", provider_id=provider_id, name=provider.name)
                return
        raise ProviderInUse(provider.name, 0)

    async def versions(self, provider_id: str, engine: engines.Engine) -> list[OfferedVersion]:
        provider = await self.get(provider_id)
        try:
            gateway = await self._fleet.gateway_of(provider)
        except ClusterUnavailable as exc:
            raise ProviderUnreachable(str(exc)) from None
        catalog: CatalogService = self._catalog_for(gateway)
        return await catalog.offered(engine)

    # --- connection --------------------------------------------------------------------

    def _current_connection(self, provider: Provider) -> dict[str, Any]:
        try:
            connection = connection_for(provider, self._cipher)
        except ClusterUnavailable as exc:
            raise EncryptionUnavailable(
                f"{exc}; give the connection again (kubeconfig_content, kubeconfig_path or "
                "api_endpoint) with verify_ssl"
            ) from None
        if connection is None:
            return {}
        if provider.kubeconfig_encrypted is not None:
            return {"kubeconfig_content": connection.value}
        if provider.kubeconfig_path is not None:
            return {"kubeconfig_path": provider.kubeconfig_path}
        return {"api_endpoint": provider.api_endpoint}

    async def _connection_fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """Check the connection `values` describe and turn it into the stored fields
        (the content encrypted, the other two ways cleared)."""
        content = values.pop("kubeconfig_content", None)
        path, endpoint = values.get("kubeconfig_path"), values.get("api_endpoint")
        verify = bool(values.get("verify_ssl", True))
        stored: dict[str, Any] = {
            "kubeconfig_encrypted": None,
            "kubeconfig_path": None,
            "api_endpoint": None,
        }
        if content is not None:
            if self._cipher is None:
                raise EncryptionUnavailable(
                    "kubeconfig_content cannot be stored: ENCRYPTION_KEY is not set (give "
                    "kubeconfig_path or api_endpoint, or set the key on every instance)"
                )
            text = kubeconfig_text(content)
            await check_cluster(
                ClusterConnection.kubeconfig(text, verify_ssl=verify, trusted=False),
                self._fleet.connect,
            )
            stored["kubeconfig_encrypted"] = self._cipher.encrypt(text)
        elif path is not None:
            path = allowed_path(path, self._kubeconfig_dir)
            # The same rules as for a content (read in a thread: file I/O).
            kubeconfig_text(await asyncio.to_thread(Path(path).read_text))
            await check_cluster(
                ClusterConnection.kubeconfig_path(path, verify_ssl=verify, trusted=False),
                self._fleet.connect,
            )
            stored["kubeconfig_path"] = path
        elif endpoint is not None:
            await check_cluster(
                ClusterConnection.url(endpoint, verify_ssl=verify), self._fleet.connect
            )
            stored["api_endpoint"] = endpoint
        return stored


# The control plane's own cluster as a provider, registered when there is none yet: its
# capacity is a guess for a laptop or a small cluster; an admin sets the real figures.
LOCAL_PROVIDER = {
    "name": "local",
    "region": "local",
    "availability_zone": "local-1",
    "cloud_provider": "local",
    "cpu_total_cores": 64,
    "memory_total_gb": 256,
    "storage_total_gb": 4096,
    "priority": 0,
}


async def register_local_provider(store: Store) -> Provider | None:
    """Register the control plane's own cluster (CLUSTER_KUBECONFIG or in-cluster) as the
    provider `local` on a first start: when no provider exists at all."""
    if await store.providers.all():
        return None
    try:
        provider = await store.providers.insert(Provider.model_validate(LOCAL_PROVIDER))
    except store_errors.NameTaken:
        return None  # another instance starting alongside registered it
    log.info("provider_registered", provider_id=provider.id, name=provider.name)
    return provider
