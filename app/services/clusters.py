"""The clusters databases live on: one gateway per provider, built when first needed.

A database's cluster is its provider's (`Database.provider_id`); a database without one, and
a provider without connection details (the `local` provider registered at first start), are
on the control plane's own cluster (CLUSTER_KUBECONFIG or CLUSTER_IN_CLUSTER). Gateways are
cached by provider id and how the provider is reached: one whose connection changed gets a
new gateway, and the old one is closed with the fleet (a task may still be using it).

It must not decide placement (`services.placement`) nor check connectivity of a provider
being registered (`services.providers`): it only connects to registered ones.
"""

from __future__ import annotations

import asyncio

from app.cluster.config import ClusterConnection
from app.cluster.recent_writes import DEFAULT_TTL
from app.domain.databases import Database
from app.domain.providers import Provider
from app.encryption import Cipher, DecryptionFailed
from app.observability.metrics import Metrics
from app.services.errors import ServiceError
from app.services.ports import ClusterGateway, Connect
from app.store.protocols import Store


class ClusterUnavailable(ServiceError):
    """No way to the cluster: no default cluster, the provider is gone, or its kubeconfig
    cannot be decrypted. Permanent for the operation that needs it."""

    status = 503
    code = "cluster_unavailable"


def connection_for(provider: Provider, cipher: Cipher | None) -> ClusterConnection | None:
    """How to reach `provider`; None: the control plane's own cluster."""
    if provider.kubeconfig_encrypted is not None:
        if cipher is None:
            raise ClusterUnavailable(
                f"provider {provider.name}: its kubeconfig is encrypted and ENCRYPTION_KEY "
                "is not set"
            )
        try:
            content = cipher.decrypt(provider.kubeconfig_encrypted)
        except DecryptionFailed as exc:
            raise ClusterUnavailable(f"provider {provider.name}: {exc}") from exc
        return ClusterConnection.kubeconfig(content, verify_ssl=provider.verify_ssl, trusted=False)
    if provider.kubeconfig_path is not None:
        return ClusterConnection.kubeconfig_path(
            provider.kubeconfig_path, verify_ssl=provider.verify_ssl, trusted=False
        )
    if provider.api_endpoint is not None:
        return ClusterConnection.url(provider.api_endpoint, verify_ssl=provider.verify_ssl)
    return None


class ClusterFleet:
    def __init__(
        self,
        store: Store,
        *,
        default: ClusterGateway | None,
        cipher: Cipher | None,
        connect: Connect,
        metrics: Metrics | None = None,
        remember_for: float = DEFAULT_TTL,
    ) -> None:
        self._store = store
        self.default = default
        # Makes a provider's gateway (`KubeGateway.connect` in production).
        self.connect = connect
        self._cipher = cipher
        self._metrics = metrics
        # How long each gateway remembers what it wrote (`ClusterGateway.recent`).
        self._remember_for = remember_for
        # provider id -> (how it is reached, its gateway). Keyed on the connection, not the
        # revision: reservations change a provider's revision many times a second.
        self._gateways: dict[str, tuple[tuple[object, ...], ClusterGateway]] = {}
        # Gateways of connections that changed: other tasks may still be using them, so
        # they are closed with the fleet.
        self._retired: list[ClusterGateway] = []
        self._building = asyncio.Lock()

    async def gateway_for(self, database: Database) -> ClusterGateway:
        if database.provider_id is None:
            return self._default()
        provider = await self._store.providers.get(database.provider_id)
        if provider is None:
            raise ClusterUnavailable(
                f"provider {database.provider_id} of database {database.id} does not exist"
            )
        return await self.gateway_of(provider)

    async def gateway_of(self, provider: Provider) -> ClusterGateway:
        key = (
            provider.kubeconfig_encrypted,
            provider.kubeconfig_path,
            provider.api_endpoint,
            provider.verify_ssl,
        )
        cached = self._gateways.get(provider.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        async with self._building:
            cached = self._gateways.get(provider.id)
            if cached is not None and cached[0] == key:
                return cached[1]  # built by another task meanwhile
            connection = connection_for(provider, self._cipher)
            if connection is None:
                return self._default()
            try:
                gateway = self.connect(
                    connection, metrics=self._metrics, remember_for=self._remember_for
                )
            except Exception as exc:  # a client's kubeconfig: never quote its content
                raise ClusterUnavailable(
                    f"provider {provider.name}: its kubeconfig cannot be used "
                    f"({type(exc).__name__})"
                ) from exc
            self._gateways[provider.id] = (key, gateway)
            if cached is not None:
                self._retired.append(cached[1])
            return gateway

    async def clusters(
        self,
    ) -> tuple[list[tuple[frozenset[str | None], ClusterGateway]], frozenset[str]]:
        """Each distinct cluster once, with the provider ids it serves (None: databases
        without a provider), and the providers that cannot be connected to."""
        groups: dict[int, tuple[set[str | None], ClusterGateway]] = {}
        unreachable: set[str] = set()
        if self.default is not None:
            groups[id(self.default)] = ({None}, self.default)
        for provider in await self._store.providers.all():
            try:
                gateway = await self.gateway_of(provider)
            except ClusterUnavailable:
                unreachable.add(provider.id)  # reported by the operations that need it
                continue
            groups.setdefault(id(gateway), (set(), gateway))[0].add(provider.id)
        return (
            [(frozenset(keys), gateway) for keys, gateway in groups.values()],
            frozenset(unreachable),
        )

    def _default(self) -> ClusterGateway:
        if self.default is None:
            raise ClusterUnavailable("no cluster is configured (CLUSTER_KUBECONFIG)")
        return self.default

    async def close(self) -> None:
        for gateway in [*(g for _, g in self._gateways.values()), *self._retired]:
            await gateway.close()
        self._gateways.clear()
        self._retired.clear()
