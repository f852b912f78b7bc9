"""The clusters databases live on: one gateway per provider, built when first needed.

A database's cluster is its provider's (`Database.provider_id`); a database without one, and
a provider without connection details (the `local` provider registered at first start), are
on the control plane's own cluster (CLUSTER_KUBECONFIG or CLUSTER_IN_CLUSTER). Gateways are
cached by provider id and revision: a provider whose kubeconfig changed gets a new one, and
the old one is closed.

It must not decide placement (`services.placement`) nor check connectivity of a provider
being registered (`services.providers`): it only connects to registered ones.
"""

from __future__ import annotations

from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain.databases import Database
from app.domain.providers import Provider
from app.encryption import Cipher, DecryptionFailed
from app.metrics import Metrics
from app.store.protocols import Store


class ClusterUnavailable(Exception):
    """No way to the cluster: no default cluster, the provider is gone, or its kubeconfig
    cannot be decrypted. Permanent for the operation that needs it."""


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
        return ClusterConnection.kubeconfig(content, verify_ssl=provider.verify_ssl)
    if provider.kubeconfig_path is not None:
        return ClusterConnection.kubeconfig_path(
            provider.kubeconfig_path, verify_ssl=provider.verify_ssl
        )
    if provider.api_endpoint is not None:
        return ClusterConnection.url(provider.api_endpoint, verify_ssl=provider.verify_ssl)
    return None


class ClusterFleet:
    def __init__(
        self, store: Store, *, default: KubeGateway | None, cipher: Cipher | None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self.default = default
        self._cipher = cipher
        self._metrics = metrics
        self._gateways: dict[str, tuple[int, KubeGateway]] = {}

    async def gateway_for(self, database: Database) -> KubeGateway:
        if database.provider_id is None:
            return self._default()
        provider = await self._store.providers.get(database.provider_id)
        if provider is None:
            raise ClusterUnavailable(
                f"provider {database.provider_id} of database {database.id} does not exist"
            )
        return await self.gateway_of(provider)

    async def gateway_of(self, provider: Provider) -> KubeGateway:
        cached = self._gateways.get(provider.id)
        if cached is not None and cached[0] == provider.revision:
            return cached[1]
        connection = connection_for(provider, self._cipher)
        if connection is None:
            return self._default()
        try:
            gateway = KubeGateway.connect(connection, metrics=self._metrics)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise ClusterUnavailable(f"provider {provider.name}: {exc}") from exc
        self._gateways[provider.id] = (provider.revision, gateway)
        if cached is not None:
            await cached[1].close()
        return gateway

    async def clusters(self) -> list[tuple[frozenset[str | None], KubeGateway]]:
        """Each distinct cluster once, with the provider ids it serves (None: databases
        without a provider). A provider that cannot be connected to is left out."""
        groups: dict[int, tuple[set[str | None], KubeGateway]] = {}
        if self.default is not None:
            groups[id(self.default)] = ({None}, self.default)
        for provider in await self._store.providers.all():
            try:
                gateway = await self.gateway_of(provider)
            except ClusterUnavailable:
                continue  # reported by the operations that need it
            groups.setdefault(id(gateway), (set(), gateway))[0].add(provider.id)
        return [(frozenset(keys), gateway) for keys, gateway in groups.values()]

    def _default(self) -> KubeGateway:
        if self.default is None:
            raise ClusterUnavailable("no cluster is configured (CLUSTER_KUBECONFIG)")
        return self.default

    async def close(self) -> None:
        for _, gateway in self._gateways.values():
            await gateway.close()
        self._gateways.clear()
