"""Namespace lifecycle, built on the same extension points a plugin uses.

- On create (admission): `spec.finalizers: [kubernetes]` and `status.phase: Active`.
- On delete: the namespace keeps existing with a `deletionTimestamp` (its spec finalizer
  holds it); the controller marks it `Terminating`, deletes every namespaced object in it
  (through admission, so a webhook that refuses a deletion keeps the namespace), waits for
  objects with finalizers to go, then drops the `kubernetes` finalizer and the namespace is
  removed. Creating in a terminating namespace is refused by `verbs` (403).
"""

from __future__ import annotations

from typing import Any

import structlog

from simulator import errors
from simulator.admission import AdmissionRequest
from simulator.controllers import ControllerContext
from simulator.objects import is_terminating, meta
from simulator.registry import Registry, ResourceType

log = structlog.get_logger(__name__)

FINALIZER = "kubernetes"
SYSTEM = ("default", "kube-node-lease", "kube-public", "kube-system")
"""The namespaces a cluster starts with."""
IMMORTAL = ("default", "kube-public", "kube-system")
"""The namespaces kube-apiserver's NamespaceLifecycle admission refuses to delete."""
_RETRY_SECONDS = 0.2


class NamespaceDefaults:
    async def admit(self, request: AdmissionRequest) -> None:
        if request.operation == "DELETE" and request.name in IMMORTAL:
            raise errors.Forbidden(
                f'namespaces "{request.name}" is forbidden: this namespace may not be deleted',
                name=request.name,
                kind="namespaces",
            )
        if request.operation != "CREATE" or request.object is None:
            return
        spec = request.object.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("finalizers", [FINALIZER])
        request.object["status"] = {"phase": "Active"}


def default_namespace(name: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": [FINALIZER]},
        "status": {"phase": "Active"},
    }


class NamespaceLifecycle:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def __call__(self, ctx: ControllerContext) -> None:
        """Level-triggered: look at every namespace on each change, finish what is due."""
        watch = ctx.client.watch("namespaces")
        async with watch:
            while not ctx.stopping.is_set():
                terminating = [
                    ns for ns in await ctx.client.list("namespaces") if is_terminating(ns)
                ]
                busy = False
                for namespace in terminating:
                    busy |= not await self._finish(ctx, namespace)
                timeout = _RETRY_SECONDS if busy else None
                if await watch.next(timeout) is None and watch.closed:
                    return

    async def _finish(self, ctx: ControllerContext, namespace: dict[str, Any]) -> bool:
        """One pass over a terminating namespace; True once it is released."""
        name = meta(namespace)["name"]
        if namespace.get("status", {}).get("phase") != "Terminating":
            await ctx.client.patch(
                "namespaces", name, {"status": {"phase": "Terminating"}}, admission=False
            )
        remaining = 0
        for rt in self._registry:
            if not rt.namespaced:
                continue
            for obj in await ctx.client.list(rt, namespace=name):
                if not await self._delete(ctx, rt, obj):
                    remaining += 1
        if remaining:
            return False
        finalizers = [f for f in namespace.get("spec", {}).get("finalizers", []) if f != FINALIZER]
        try:
            await ctx.client.patch(
                "namespaces", name, {"spec": {"finalizers": finalizers}}, admission=False
            )
        except errors.NotFound:
            return True  # released by someone else meanwhile
        log.info("namespace_deleted", namespace=name)
        return True

    @staticmethod
    async def _delete(ctx: ControllerContext, rt: ResourceType, obj: dict[str, Any]) -> bool:
        """Delete one object of the namespace; True once it is gone."""
        md = meta(obj)
        if is_terminating(obj):
            return False
        try:
            return await ctx.client.delete(rt, md["name"], namespace=md["namespace"]) is None
        except errors.NotFound:
            return True
        except errors.ApiError as exc:
            log.info(
                "namespace_content_kept",
                namespace=md["namespace"],
                resource=rt.resource,
                name=md["name"],
                reason=exc.reason,
            )
            return False
