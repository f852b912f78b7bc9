"""A database's AppBinding, read through the cluster port (`domain.data_plane` says what it
means). One policy for every reader (the credentials route, the create's last step):

- absent (not made yet, or the database is halted): None, the Service's DNS name stands;
- refused (403: a ClusterRole without `appbindings`, the AppBinding kind not served): None
  too, logged, since without a url the Service's DNS name is the right answer in a real
  cluster; the status sync keeps trying;
- any other cluster error is raised for the caller to translate (503, a step's retry).
"""

from __future__ import annotations

from app.cluster import errors as cluster_errors
from app.domain import data_plane
from app.observability.log import get_logger
from app.services.ports import ClusterGateway

log = get_logger(__name__)


async def read(gateway: ClusterGateway, namespace: str, name: str) -> data_plane.Binding | None:
    try:
        found = await gateway.find(data_plane.APP_BINDING, name, namespace=namespace)
    except cluster_errors.Forbidden as exc:
        log.warning("app_binding_unreadable", namespace=namespace, name=name, error=exc.message)
        return None
    return data_plane.parse(found) if found is not None else None
