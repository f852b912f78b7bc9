"""What the operator model needs from the simulated API server: plain-dict object access.

Resources are named by plural (unique across the groups the operator touches). Writes made
through this port go through the API server's own storage semantics (resourceVersion,
generation, watch events) but skip admission, as the real operator's writes skip its own
webhooks' defaulting.
"""

from __future__ import annotations

from typing import Any, Protocol


class ClusterError(Exception):
    """A write the operator made was refused (a conflict, or the object is gone)."""


class Cluster(Protocol):
    async def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None: ...

    async def peek(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """Like `get`, without copying: the caller reads and never changes the result."""

    async def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]: ...

    async def create(self, plural: str, namespace: str | None, obj: dict[str, Any]) -> bool:
        """Create; an existing object of that name is left as it is (False)."""

    async def merge_patch(
        self, plural: str, namespace: str | None, name: str, patch: dict[str, Any]
    ) -> None:
        """Raises ClusterError when the object is gone."""

    async def replace_status(
        self, plural: str, namespace: str | None, name: str, status: dict[str, Any]
    ) -> None:
        """Raises ClusterError when the object is gone."""

    async def delete(self, plural: str, namespace: str | None, name: str) -> None:
        """A missing object is not an error."""
