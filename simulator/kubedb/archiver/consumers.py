"""Which archiver a database is archived by: its `spec.archiver.ref` names one of its kind,
and the archiver's `databases` (AllowedConsumers) admits it: the label selector matches
the database's labels and the namespaces rule (`Same` by default, `All`, or `Selector` on
the namespace's labels) its namespace."""

from __future__ import annotations

from typing import Any

from simulator.kubedb.archiver import kinds
from simulator.kubedb.cluster import Cluster


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or ()
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


async def archiver_of(cluster: Cluster, db: dict[str, Any]) -> dict[str, Any] | None:
    """The archiver that archives `db`, or None (no ref, not found, or not admitted)."""
    rt = kinds.BY_DATABASE.get(str(db.get("kind")))
    meta = db["metadata"]
    ref = ((db.get("spec") or {}).get("archiver") or {}).get("ref") or {}
    if rt is None or not ref.get("name") or meta.get("deletionTimestamp"):
        return None
    namespace = str(ref.get("namespace") or meta["namespace"])
    archiver = await cluster.peek(rt.plural, namespace, str(ref["name"]))
    if archiver is None:
        return None
    allowed = (archiver.get("spec") or {}).get("databases") or {}
    if not selects(allowed.get("selector"), meta.get("labels") or {}):
        return None
    rule = allowed.get("namespaces") or {}
    where = rule.get("from") or "Same"
    if where == "Same" and namespace != meta["namespace"]:
        return None
    if where == "Selector":
        ns = await cluster.peek("namespaces", None, str(meta["namespace"]))
        labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
        if not selects(rule.get("selector"), labels):
            return None
    return archiver
