"""What a database's AppBinding says about where it serves, and whether a real server does.

KubeDB writes an AppBinding (appcatalog.appscode.com/v1alpha1) of the database's name and
namespace with `spec.clientConfig.service: {name, port, scheme}`: in-cluster DNS names. The
embedded cluster also writes `spec.clientConfig.url`, a loopback address that works from the
machine (`postgresql://127.0.0.1:54321/postgres`, `redis://127.0.0.1:6390`), and two
annotations:

    dataplane.simulator.kubedb-dbaas.io/mode             real | modelled (absent: real,
                                                         a real cluster runs real servers)
    dataplane.simulator.kubedb-dbaas.io/server-version   the version the server really runs,
                                                         when it differs from the requested one

    binding = data_plane.parse(app_binding_dict)
    binding.address        Address(host, port, database) from the url, or None (Service DNS)
    binding.data_plane     DataPlane.REAL / DataPlane.MODELLED
    data_plane.record_fields(binding, service_host=..., default_port=...)
                           the record's `endpoint`, `port`, `data_plane`, `server_version`

An unknown mode is `modelled` (never claim data that may not exist); a url that does not
parse (no host, a bad port) is ignored (the Service DNS name stands). Pure: the caller reads
the AppBinding; this module must not touch the cluster or the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

from app.domain.engines import Resource

APP_BINDING = Resource("appcatalog.appscode.com/v1alpha1", "AppBinding", "appbindings")
# KubeDB labels every offshoot of a database it manages, the AppBinding included.
KUBEDB_MANAGED = {"app.kubernetes.io/managed-by": "kubedb.com"}

MODE_ANNOTATION = "dataplane.simulator.kubedb-dbaas.io/mode"
SERVER_VERSION_ANNOTATION = "dataplane.simulator.kubedb-dbaas.io/server-version"


class DataPlane(StrEnum):
    REAL = "real"
    MODELLED = "modelled"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a client on the machine connects (from `clientConfig.url`)."""

    host: str
    port: int | None
    database: str | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    data_plane: DataPlane
    server_version: str | None = None
    address: Address | None = None


def parse(obj: Mapping[str, Any]) -> Binding:
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    client_config = (obj.get("spec") or {}).get("clientConfig") or {}
    version = annotations.get(SERVER_VERSION_ANNOTATION)
    return Binding(
        data_plane=mode_of(annotations.get(MODE_ANNOTATION)),
        server_version=str(version) if version else None,
        address=address_of(client_config.get("url")),
    )


def mode_of(annotation: object) -> DataPlane:
    if annotation is None:
        return DataPlane.REAL
    return DataPlane.REAL if annotation == DataPlane.REAL.value else DataPlane.MODELLED


def address_of(url: object) -> Address | None:
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    database = unquote(parts.path.lstrip("/")) or None
    return Address(host=parts.hostname, port=port, database=database)


def record_fields(binding: Binding, *, service_host: str, default_port: int) -> dict[str, Any]:
    """The record's fields the binding decides: where it serves and what serves it."""
    address = binding.address
    return {
        "endpoint": address.host if address else service_host,
        "port": (address.port or default_port) if address else default_port,
        "data_plane": binding.data_plane,
        "server_version": binding.server_version,
    }
