"""The PetSet controller with the parts of a node it needs: it keeps pods `<petset>-<i>` and
their PVCs `<claim>-<pod>` as the PetSet says, binds the PVCs (the volume provisioner), runs
the pods (the kubelet) and reports `readyReplicas` in the PetSet's status.

A PVC is Pending on creation and Bound one provisioning step later, unless it matches the
`pending_pvcs` knob (it then stays Pending and says why in an event). A pod is Pending until
its PVCs are Bound (`FailedScheduling`), then Running and Ready one step later. A pod that
matches `crashloop_pods` runs but is not ready: its container waits in CrashLoopBackOff and
its `restartCount` grows with the kubelet's back-off (10 s doubling to 5 min, simulated).
Scaling down deletes the surplus pods and, as `whenScaled: Delete` asks, their PVCs; a
larger claim template grows the PVCs (online expansion); a new image or new resources in
the template are applied to the running pods in place. Pods are owned by their PetSet
(`controller`, `blockOwnerDeletion`), so the garbage collector removes them with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.kubedb import events
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.events import Recorder
from simulator.kubedb.provisioner import timestamp
from simulator.kubedb.reconciler import Reconciler, Timeline
from simulator.kubedb.settings import OperatorSettings
from simulator.kubedb.workloads import PETSET_API

_BACKOFF_START, _BACKOFF_CAP = 10.0, 300.0


def _owner(ps: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": PETSET_API,
        "kind": "PetSet",
        "name": ps["metadata"]["name"],
        "uid": ps["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _condition(kind: str, status: str, stamp: str, **extra: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "lastTransitionTime": stamp, **extra}


class PetSetController(Reconciler):
    def __init__(
        self,
        cluster: Cluster,
        settings: OperatorSettings,
        *,
        recorder: Recorder,
        timeline: Timeline,
        server: Callable[[dict[str, Any]], str | None] = lambda _pod: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(cluster, settings, timeline=timeline, **kwargs)
        self._events = recorder
        self._server = server
        """The data plane's state of the pod's server: None (modelled), or "starting",
        "running", "down" (a dead server crash-loops the pod; only "running" is ready)."""

    async def reconcile(self, namespace: str, name: str) -> float | None:
        ps = await self._cluster.peek("petsets", namespace, name)
        if ps is None or ps["metadata"].get("deletionTimestamp"):
            return None
        spec = ps.get("spec") or {}
        replicas = int(spec.get("replicas") or 0)
        requeues: list[float] = []
        ready = 0
        for index in range(replicas):
            bound = True
            for claim in spec.get("volumeClaimTemplates") or ():
                pvc_bound, again = await self._claim(ps, claim, f"{name}-{index}")
                bound &= pvc_bound
                if again is not None:
                    requeues.append(again)
            pod_ready, again = await self._pod(ps, index, bound)
            ready += pod_ready
            if again is not None:
                requeues.append(again)
        await self._scale_down(ps, replicas)
        status = {
            "observedGeneration": int(ps["metadata"].get("generation", 1)),
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
        }
        if status != {k: (ps.get("status") or {}).get(k) for k in status}:
            try:
                await self._cluster.replace_status("petsets", namespace, name, status)
            except ClusterError:
                return None
        return min(requeues) if requeues else None

    # --- PVCs (the volume provisioner and the expansion controller) ----------------------

    async def _claim(
        self, ps: dict[str, Any], claim: dict[str, Any], pod: str
    ) -> tuple[bool, float | None]:
        namespace = ps["metadata"]["namespace"]
        name = f"{claim['metadata']['name']}-{pod}"
        size = claim["spec"]["resources"]["requests"]["storage"]
        pvc = await self._cluster.peek("persistentvolumeclaims", namespace, name)
        if pvc is None:
            body = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": dict(claim["metadata"].get("labels") or {}),
                },
                "spec": {**claim["spec"], "volumeMode": "Filesystem"},
            }
            await self._cluster.create("persistentvolumeclaims", namespace, body)
            await self._cluster.replace_status(
                "persistentvolumeclaims", namespace, name, {"phase": "Pending"}
            )
            self._timeline.mark("pvc", namespace, name)
            return False, self._settings.step
        phase = (pvc.get("status") or {}).get("phase")
        if phase != "Bound":
            return await self._bind(pvc, size)
        requested = pvc["spec"]["resources"]["requests"]["storage"]
        if requested != size and _bytes(size) > _bytes(requested):
            await self._cluster.merge_patch(
                "persistentvolumeclaims",
                namespace,
                name,
                {"spec": {"resources": {"requests": {"storage": size}}}},
            )
            await self._cluster.replace_status(
                "persistentvolumeclaims",
                namespace,
                name,
                {**(pvc.get("status") or {}), "capacity": {"storage": size}},
            )
        return True, None

    async def _bind(self, pvc: dict[str, Any], size: str) -> tuple[bool, float | None]:
        namespace, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        if self._settings.pvc_pending(namespace, name):
            storage_class = pvc["spec"].get("storageClassName") or "standard"
            await self._events.record(
                pvc,
                "Normal",
                "ExternalProvisioning",
                f"Waiting for a volume to be created either by the external provisioner "
                f'"{storage_class}.provisioner" or manually by the system administrator',
                component=events.VOLUME_CONTROLLER,
            )
            return False, None
        elapsed = self._timeline.since("pvc", namespace, name)
        if elapsed is not None and elapsed < self._settings.step:
            return False, self._settings.step - elapsed
        status = {
            "phase": "Bound",
            "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
            "capacity": {"storage": size},
        }
        await self._cluster.merge_patch(
            "persistentvolumeclaims",
            namespace,
            name,
            {"spec": {"volumeName": f"pvc-{pvc['metadata']['uid']}"}},
        )
        await self._cluster.replace_status("persistentvolumeclaims", namespace, name, status)
        self._timeline.forget("pvc", namespace, name)
        return True, None

    # --- pods (the PetSet controller and the kubelet) ------------------------------------

    async def _pod(self, ps: dict[str, Any], index: int, bound: bool) -> tuple[int, float | None]:
        namespace, set_name = ps["metadata"]["namespace"], ps["metadata"]["name"]
        name = f"{set_name}-{index}"
        template = ps["spec"]["template"]
        pod = await self._cluster.peek("pods", namespace, name)
        if pod is None:
            await self._create_pod(ps, index, template)
            return 0, self._settings.step
        containers = template["spec"]["containers"]
        if _container_fields(pod["spec"]["containers"]) != _container_fields(containers):
            await self._cluster.merge_patch(
                "pods", namespace, name, {"spec": {"containers": _merged(pod, containers)}}
            )
        status = dict(pod.get("status") or {})
        now = self._now()
        stamp = timestamp(now)
        requeue: float | None = None
        server = self._server(pod)
        if not bound:
            new = self._unschedulable(status, stamp)
            if new != status and self._claims_stuck(ps, name):
                await self._events.record(
                    pod,
                    "Warning",
                    "FailedScheduling",
                    "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                    component=events.SCHEDULER,
                )
        elif self._settings.crash_loops(namespace, name) or server == "down":
            new, requeue = await self._crash_loop(pod, containers, status, now)
        else:
            started = self._timeline.since("pod", namespace, name)
            if started is None and status.get("phase") != "Running":
                self._timeline.mark("pod", namespace, name)
                started = 0.0
            if status.get("phase") != "Running" and started is not None:
                if started < self._settings.step:
                    return 0, self._settings.step - started
                self._timeline.forget("pod", namespace, name)
            ready = server in (None, "running")  # "starting": running, the probe fails
            new = _running(
                containers, status, stamp, ready=ready, restarts=_restarts(status), crashed=False
            )
        if new != status:
            try:
                await self._cluster.replace_status("pods", namespace, name, new)
            except ClusterError:
                return 0, None
        return int(_is_ready(new)), requeue

    def _claims_stuck(self, ps: dict[str, Any], pod: str) -> bool:
        namespace = ps["metadata"]["namespace"]
        return any(
            self._settings.pvc_pending(namespace, f"{claim['metadata']['name']}-{pod}")
            for claim in ps["spec"].get("volumeClaimTemplates") or ()
        )

    async def _create_pod(self, ps: dict[str, Any], index: int, template: dict[str, Any]) -> None:
        namespace, set_name = ps["metadata"]["namespace"], ps["metadata"]["name"]
        name = f"{set_name}-{index}"
        labels = {
            **(template.get("metadata") or {}).get("labels", {}),
            "apps.kubernetes.io/pod-index": str(index),
            "statefulset.kubernetes.io/pod-name": name,
        }
        if (template.get("metadata") or {}).get("annotations", {}).get("kubedb.com/roles"):
            labels["kubedb.com/role"] = "primary" if index == 0 else "standby"
        volumes = [
            {
                "name": claim["metadata"]["name"],
                "persistentVolumeClaim": {"claimName": f"{claim['metadata']['name']}-{name}"},
            }
            for claim in ps["spec"].get("volumeClaimTemplates") or ()
        ]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "ownerReferences": [_owner(ps)],
            },
            "spec": {
                **template["spec"],
                "hostname": name,
                "subdomain": ps["spec"].get("serviceName"),
                "nodeName": "kind-control-plane",
                "volumes": volumes,
            },
        }
        if await self._cluster.create("pods", namespace, pod):
            await self._cluster.replace_status(
                "pods", namespace, name, {"phase": "Pending", "qosClass": "Burstable"}
            )
            await self._events.record(
                ps,
                "Normal",
                "SuccessfulCreate",
                f"create Pod {name} in PetSet {set_name} successful",
                component=events.PETSET_CONTROLLER,
            )

    def _unschedulable(self, status: dict[str, Any], stamp: str) -> dict[str, Any]:
        return {
            **status,
            "phase": "Pending",
            "conditions": [
                _condition(
                    "PodScheduled",
                    "False",
                    stamp,
                    reason="Unschedulable",
                    message="0/1 nodes are available: pod has unbound immediate "
                    "PersistentVolumeClaims.",
                )
            ],
        }

    async def _crash_loop(
        self,
        pod: dict[str, Any],
        containers: list[dict[str, Any]],
        status: dict[str, Any],
        now: Any,
    ) -> tuple[dict[str, Any], float]:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        restarts = _restarts(status)
        backoff = min(_BACKOFF_START * 2 ** max(restarts - 1, 0), _BACKOFF_CAP)
        wait = backoff * self._settings.time_scale
        since = self._timeline.since("restart", namespace, name)
        if since is None or since >= wait:
            restarts += 1
            self._timeline.mark("restart", namespace, name)
            await self._events.record(
                pod,
                "Warning",
                "BackOff",
                "Back-off restarting failed container "
                f"{containers[0]['name']} in pod {name}_{namespace}({pod['metadata']['uid']})",
                component=events.KUBELET,
            )
            since = 0.0
        new = _running(containers, status, timestamp(now), ready=False, restarts=restarts)
        return new, max(wait - since, 0.05)

    async def _scale_down(self, ps: dict[str, Any], replicas: int) -> None:
        namespace, set_name = ps["metadata"]["namespace"], ps["metadata"]["name"]
        index = replicas
        while await self._cluster.peek("pods", namespace, f"{set_name}-{index}") is not None:
            await self._cluster.delete("pods", namespace, f"{set_name}-{index}")
            await self._events.record(
                ps,
                "Normal",
                "SuccessfulDelete",
                f"delete Pod {set_name}-{index} in PetSet {set_name} successful",
                component=events.PETSET_CONTROLLER,
            )
            index += 1
        policy = (ps["spec"].get("persistentVolumeClaimRetentionPolicy") or {}).get("whenScaled")
        if policy != "Delete":
            return
        for claim in ps["spec"].get("volumeClaimTemplates") or ():
            index = replicas
            while True:
                pvc = f"{claim['metadata']['name']}-{set_name}-{index}"
                if await self._cluster.peek("persistentvolumeclaims", namespace, pvc) is None:
                    break
                await self._cluster.delete("persistentvolumeclaims", namespace, pvc)
                index += 1


def _restarts(status: dict[str, Any]) -> int:
    return max(
        (int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or ()),
        default=0,
    )


def _container_fields(containers: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    return [(c.get("name"), c.get("image"), c.get("resources")) for c in containers]


def _merged(pod: dict[str, Any], template: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pod's containers with the template's image and resources (an in-place update)."""
    wanted = {c["name"]: c for c in template}
    merged = []
    for container in pod["spec"]["containers"]:
        update = wanted.get(container.get("name"), {})
        merged.append(
            {**container, **{k: update[k] for k in ("image", "resources") if k in update}}
        )
    return merged


def _running(
    containers: list[dict[str, Any]],
    status: dict[str, Any],
    stamp: str,
    *,
    ready: bool,
    restarts: int = 0,
    crashed: bool = True,
) -> dict[str, Any]:
    flag = "True" if ready else "False"
    started = status.get("startTime") or stamp
    statuses = []
    for container in containers:
        entry: dict[str, Any] = {
            "name": container["name"],
            "image": container.get("image"),
            "imageID": "",
            "ready": ready,
            "started": ready,
            "restartCount": restarts,
        }
        if ready or not crashed:
            entry["state"] = {"running": {"startedAt": started}}
        else:
            entry["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off restarting failed container {container['name']}",
                }
            }
            entry["lastState"] = {
                "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": stamp}
            }
        statuses.append(entry)
    kept = {c["type"]: c for c in status.get("conditions") or ()}

    def cond(kind: str, value: str) -> dict[str, Any]:
        old = kept.get(kind)
        if old is not None and old.get("status") == value:
            return dict(old)
        return _condition(kind, value, stamp)

    conditions = [
        cond("PodScheduled", "True"),
        cond("Initialized", "True"),
        cond("ContainersReady", flag),
        cond("Ready", flag),
    ]
    return {
        **status,
        "phase": "Running",
        "conditions": conditions,
        "containerStatuses": statuses,
        "startTime": started,
        "hostIP": "172.18.0.2",
        "podIP": status.get("podIP") or "10.244.0.2",
    }


def _is_ready(status: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}


def _bytes(quantity: str) -> float:
    for suffix, factor in _UNITS.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    try:
        return float(quantity)
    except ValueError:
        return 0.0
