"""Events (core v1) as client-go's event recorder writes them, for `kubectl get events` and
the Events section of `kubectl describe` (which lists them by `involvedObject`).

Like the recorder's correlator, an event repeating one already recorded for the same object
(same type, reason and message) is not stored again: the existing one gets `count` + 1 and
a new `lastTimestamp` (a crash-looping pod's BackOff is one event with a growing count).
Names are `<object>.<16 hex digits>`, derived from what is aggregated, so the lookup needs
no index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from simulator.kubedb.cluster import Cluster, ClusterError

OPERATOR = "KubeDB Operator"
OPS_MANAGER = "KubeDB Ops-manager Operator"
PETSET_CONTROLLER = "petset-controller"
KUBELET = "kubelet"
SCHEDULER = "default-scheduler"
VOLUME_CONTROLLER = "persistentvolume-controller"

EventType = Literal["Normal", "Warning"]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    def __init__(self, cluster: Cluster, now: Callable[[], datetime]) -> None:
        self._cluster = cluster
        self._now = now

    async def record(
        self,
        obj: dict[str, Any],
        type_: EventType,
        reason: str,
        message: str,
        *,
        component: str,
    ) -> None:
        md = obj["metadata"]
        namespace = md.get("namespace") or "default"
        key = f"{obj.get('kind')}/{md.get('uid')}/{type_}/{reason}/{message}/{component}"
        name = f"{md['name']}.{hashlib.sha1(key.encode()).hexdigest()[:16]}"
        stamp = _stamp(self._now())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": md["name"],
                "namespace": namespace,
                "uid": md.get("uid"),
                "resourceVersion": md.get("resourceVersion"),
            },
            "type": type_,
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": component,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        if await self._cluster.create("events", namespace, event):
            return
        existing = await self._cluster.peek("events", namespace, name)
        if existing is None:
            return
        try:
            await self._cluster.merge_patch(
                "events",
                namespace,
                name,
                {"count": int(existing.get("count") or 1) + 1, "lastTimestamp": stamp},
            )
        except ClusterError:
            return
