"""KubeDB manifests as pure functions: the desired spec (`desired`), database CRs
(`database_cr`), OpsRequests (`ops_requests`), connection info (`connection`), and the names
and labels they share (`names`, `labels`). Nothing here talks to a cluster."""

from __future__ import annotations

from typing import Any

# A JSON object bound for (or read from) the Kubernetes API. `Any` because Kubernetes documents
# are heterogeneous trees; builders construct them from typed values only.
JsonObject = dict[str, Any]
