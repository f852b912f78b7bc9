"""Admission: the hooks that see, change and may refuse every write before it is stored.

A hook plays both webhook roles of a real cluster: it may mutate `request.object` (mutating
admission) and raise an `errors.ApiError` to refuse (validating admission; `errors.Invalid`
with causes and `errors.Forbidden` are what KubeDB's webhooks answer). Hooks run in
registration order; global hooks and hooks for the request's (group, kind) alike.

A hook that fails with anything but an `ApiError` is a broken webhook: the write is refused
with a 500, as with `failurePolicy: Fail`, and the traceback is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from simulator import errors
from simulator.objects import Obj, clone
from simulator.registry import ResourceType

log = structlog.get_logger(__name__)

Operation = Literal["CREATE", "UPDATE", "DELETE"]


@dataclass(slots=True)
class AdmissionRequest:
    operation: Operation
    resource: ResourceType
    namespace: str | None
    name: str
    object: Obj | None
    """The object to be stored; the hook may change it in place. None for DELETE."""
    old_object: Obj | None
    """The stored object (UPDATE, DELETE); None for CREATE. Do not change it."""
    subresource: str | None = None
    """"status" for writes to `/status`."""
    user: str = "system:anonymous"
    """Who writes: over HTTP the authenticated user (`kubernetes-admin`,
    `system:serviceaccount:<ns>:<name>`), in process the client's user."""
    groups: tuple[str, ...] = ()
    """The user's groups over HTTP (as `AdmissionReview.request.userInfo.groups`); none in
    process."""
    dry_run: bool = False

    @classmethod
    def about(
        cls,
        operation: Operation,
        resource: ResourceType,
        obj: Obj | None,
        old: Obj | None,
        *,
        user: str,
        dry_run: bool,
        subresource: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> AdmissionRequest:
        """The request for a write of `obj` over the stored `old` (copied for the hook)."""
        source = obj if obj is not None else old
        md = (source or {}).get("metadata", {})
        return cls(
            operation=operation,
            resource=resource,
            namespace=md.get("namespace") or None,
            name=str(md.get("name", "")),
            object=obj,
            old_object=None if old is None else clone(old),
            subresource=subresource,
            user=user,
            groups=groups,
            dry_run=dry_run,
        )

    @property
    def group(self) -> str:
        return self.resource.group

    @property
    def version(self) -> str:
        return self.resource.version

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def plural(self) -> str:
        return self.resource.plural


class AdmissionHook(Protocol):
    async def admit(self, request: AdmissionRequest) -> None: ...


class AdmissionChain:
    def __init__(self) -> None:
        self._hooks: list[tuple[str | None, str | None, AdmissionHook]] = []

    def register(
        self, hook: AdmissionHook, *, group: str | None = None, kind: str | None = None
    ) -> None:
        """Run `hook` on writes of kind `kind` in `group` (None: any)."""
        self._hooks.append((group, kind, hook))

    def covers(self, group: str, kind: str) -> bool:
        """Whether any hook runs for this kind (lets writes skip building a request)."""
        return any(
            (g is None or g == group) and (k is None or k == kind) for g, k, _ in self._hooks
        )

    async def run(self, request: AdmissionRequest) -> None:
        for group, kind, hook in self._hooks:
            if (group is None or group == request.group) and (kind is None or kind == request.kind):
                await _call(hook, request)


async def _call(hook: AdmissionHook, request: AdmissionRequest) -> None:
    try:
        await hook.admit(request)
    except errors.ApiError as exc:
        target = request.resource
        raise exc.about(
            name=request.name or None,
            group=target.group,
            kind=target.kind if isinstance(exc, errors.Invalid) else target.plural,
        ) from None
    except Exception as exc:
        log.exception(
            "admission_hook_failed",
            hook=type(hook).__name__,
            operation=request.operation,
            resource=request.resource.resource,
            name=request.name,
        )
        raise errors.InternalError(
            f'Internal error occurred: failed calling webhook "{type(hook).__name__}": {exc}'
        ) from exc
