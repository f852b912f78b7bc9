"""The operator model's knobs, changeable at run time through the simulator's admin API."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass
class OperatorSettings:
    # Multiplies every duration below; 0 = as fast as possible.
    time_scale: float = 1.0
    # Seconds between provisioning conditions (ProvisioningStarted -> ... -> Provisioned).
    provisioning_step_seconds: float = 1.0
    # Seconds an OpsRequest stays Progressing.
    ops_seconds: float = 2.0
    # Probability that an OpsRequest ends Failed instead of Successful.
    ops_failure_probability: float = 0.0
    # OpsRequests matching these "namespace/name" globs stay Progressing for ever.
    stuck_ops: tuple[str, ...] = ()
    # Databases matching these "namespace/name" globs never leave Provisioning.
    never_provision: tuple[str, ...] = ()
    # Databases matching these globs have a member down (ReplicaReady False: phase Critical).
    degraded: tuple[str, ...] = ()
    # Databases matching these globs refuse connections (AcceptingConnection False: NotReady).
    unhealthy: tuple[str, ...] = ()
    # Pods matching these "namespace/pod" globs crash-loop (CrashLoopBackOff, never Ready).
    crashloop_pods: tuple[str, ...] = ()
    # PVCs matching these "namespace/pvc" globs stay Pending (provisioning never completes).
    pending_pvcs: tuple[str, ...] = ()
    # VolumeExpansion OpsRequests of databases matching these "namespace/db" globs fail.
    failing_volume_expansions: tuple[str, ...] = ()

    @property
    def step(self) -> float:
        return self.provisioning_step_seconds * self.time_scale

    @property
    def ops_duration(self) -> float:
        return self.ops_seconds * self.time_scale

    def never_provisions(self, namespace: str, name: str) -> bool:
        return _matches(self.never_provision, namespace, name)

    def is_stuck(self, namespace: str, name: str) -> bool:
        return _matches(self.stuck_ops, namespace, name)

    def crash_loops(self, namespace: str, pod: str) -> bool:
        return _matches(self.crashloop_pods, namespace, pod)

    def pvc_pending(self, namespace: str, pvc: str) -> bool:
        return _matches(self.pending_pvcs, namespace, pvc)

    def expansion_fails(self, namespace: str, database: str) -> bool:
        return _matches(self.failing_volume_expansions, namespace, database)

    def held_down(self, namespace: str, name: str) -> dict[str, tuple[str, str]]:
        """The provisioning conditions a health fault holds False: kind -> (reason, message)."""
        held: dict[str, tuple[str, str]] = {}
        if _matches(self.unhealthy, namespace, name):
            held["AcceptingConnection"] = (
                "DatabaseNotAcceptingConnectionRequest",
                "The database is not accepting client requests",
            )
        if held or _matches(self.degraded, namespace, name):
            held["ReplicaReady"] = ("ReplicaNotReady", "One or more replicas are not ready")
        return held


def _matches(patterns: tuple[str, ...], namespace: str, name: str) -> bool:
    return any(fnmatch.fnmatchcase(f"{namespace}/{name}", p) for p in patterns)
