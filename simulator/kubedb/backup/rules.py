"""KubeStash's validating webhooks, the rules that matter to a control plane (reference
kubestash.md §1 "Webhook rules", §3): each returns the problems of an object as
(field, message) pairs; `BackupWebhook` turns them into a 422 naming every problem.

Pure functions of the object and the namespace's other objects of the kind; they never
write anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.extensions import AdmissionRequest, Client, errors
from simulator.kubedb.backup import timing

Problems = list[tuple[str, str]]


def _spec(obj: dict[str, Any] | None) -> dict[str, Any]:
    return dict((obj or {}).get("spec") or {})


def _one_default(kind: str, obj: dict[str, Any], others: Sequence[dict[str, Any]]) -> Problems:
    if not _spec(obj).get("default"):
        return []
    name = obj["metadata"].get("name")
    for other in others:
        if other["metadata"].get("name") != name and _spec(other).get("default"):
            return [
                (
                    "spec.default",
                    f"multiple default {kind}s are not allowed in a namespace: "
                    f"{other['metadata']['name']} is already the default",
                )
            ]
    return []


def backup_storage(obj: dict[str, Any], others: Sequence[dict[str, Any]]) -> Problems:
    problems = _one_default("BackupStorage", obj, others)
    storage = _spec(obj).get("storage") or {}
    provider = storage.get("provider")
    if provider and not storage.get(provider):
        problems.append((f"spec.storage.{provider}", f"provider {provider} needs its section"))
    name = obj["metadata"].get("name")
    for other in others:
        if other["metadata"].get("name") != name and _place(other) == _place(obj) is not None:
            problems.append(
                (
                    "spec.storage",
                    f"BackupStorage {other['metadata']['name']} already uses the same "
                    "bucket and directory",
                )
            )
    return problems


def _place(obj: dict[str, Any]) -> tuple[str, ...] | None:
    """Where a storage writes: (provider, bucket or container or host path, prefix)."""
    storage = _spec(obj).get("storage") or {}
    provider = str(storage.get("provider"))
    section = storage.get(provider) or {}
    if provider == "local":
        path = (section.get("hostPath") or {}).get("path")
        return (provider, str(path), str(section.get("subPath") or "")) if path else None
    where = section.get("bucket") or section.get("container")
    return (provider, str(where), str(section.get("prefix") or "")) if where else None


def retention_policy(obj: dict[str, Any], others: Sequence[dict[str, Any]]) -> Problems:
    spec = _spec(obj)
    problems = _one_default("RetentionPolicy", obj, others)
    if not spec.get("maxRetentionPeriod") and not spec.get("successfulSnapshots"):
        problems.append(
            ("spec", "at least one of maxRetentionPeriod or successfulSnapshots must be set")
        )
    if spec.get("maxRetentionPeriod"):
        try:
            timing.period_minutes(str(spec["maxRetentionPeriod"]))
        except ValueError as exc:
            problems.append(("spec.maxRetentionPeriod", str(exc)))
    return problems


def backup_session_update(old: dict[str, Any], new: dict[str, Any]) -> Problems:
    if _spec(old) != _spec(new):
        return [("spec", "BackupSession spec is immutable: it cannot be changed after creation")]
    return []


def restore_session(obj: dict[str, Any]) -> Problems:
    source = _spec(obj).get("dataSource") or {}
    problems: Problems = []
    if not source.get("repository"):
        problems.append(("spec.dataSource.repository", "the repository must be set"))
    if source.get("pitr") and source.get("snapshot"):
        problems.append(("spec.dataSource", "snapshot and pitr cannot be set together: choose one"))
    elif not source.get("pitr") and not source.get("snapshot"):
        problems.append(("spec.dataSource", "either snapshot or pitr must be set"))
    target = _spec(obj).get("target") or {}
    if not target.get("name") or not target.get("kind"):
        problems.append(("spec.target", "the target kind and name must be set"))
    return problems


def _names(items: Sequence[dict[str, Any]], field: str, what: str) -> Problems:
    problems: Problems = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = item.get("name")
        if not name:
            problems.append((f"{field}[{i}].name", f"every {what} needs a name"))
        elif name in seen:
            problems.append((f"{field}[{i}].name", f"duplicate {what} name {name!r}"))
        seen.add(str(name))
    return problems


def backup_configuration(obj: dict[str, Any]) -> Problems:
    spec = _spec(obj)
    backends = list(spec.get("backends") or [])
    sessions = list(spec.get("sessions") or [])
    problems: Problems = []
    if not backends:
        problems.append(("spec.backends", "backends must be present"))
    problems += _names(backends, "spec.backends", "backend")
    for i, backend in enumerate(backends):
        for ref in ("storageRef", "retentionPolicy"):
            if not (backend.get(ref) or {}).get("name"):
                problems.append((f"spec.backends[{i}].{ref}", f"backend needs a {ref}"))
    if not sessions:
        problems.append(("spec.sessions", "sessions must be present"))
    problems += _names(sessions, "spec.sessions", "session")
    backend_names = {str(b.get("name")) for b in backends}
    directories: set[str] = set()
    for i, session in enumerate(sessions):
        problems += _session(f"spec.sessions[{i}]", session, backend_names, directories)
    return problems


def _session(
    field: str, session: dict[str, Any], backend_names: set[str], directories: set[str]
) -> Problems:
    problems: Problems = []
    if not (session.get("scheduler") or {}).get("schedule"):
        problems.append((f"{field}.scheduler.schedule", "a scheduler with a schedule is required"))
    addon = session.get("addon") or {}
    if not addon.get("name"):
        problems.append((f"{field}.addon.name", "addon name is required"))
    tasks = addon.get("tasks") or []
    if not tasks or not all(t.get("name") for t in tasks):
        problems.append((f"{field}.addon.tasks", "addon tasks must be present, with names"))
    repositories = session.get("repositories") or []
    if not repositories:
        problems.append((f"{field}.repositories", "at least one repository is required"))
    for j, repo in enumerate(repositories):
        at = f"{field}.repositories[{j}]"
        if repo.get("backend") not in backend_names:
            problems.append((f"{at}.backend", f"backend {repo.get('backend')!r} is not defined"))
        directory = repo.get("directory")
        if not directory:
            problems.append((f"{at}.directory", "directory is required"))
        elif directory in directories:
            problems.append((f"{at}.directory", f"directory {directory!r} is used twice"))
        directories.add(str(directory))
    return problems


def repositories_reused(obj: dict[str, Any], existing: Sequence[dict[str, Any]]) -> Problems:
    """A repository name of the configuration that an existing Repository holds for another
    target or storage."""
    spec = _spec(obj)
    target = spec.get("target") or {}
    backends = {b.get("name"): b for b in spec.get("backends") or ()}
    by_name = {r["metadata"]["name"]: r for r in existing}
    problems: Problems = []
    for i, session in enumerate(spec.get("sessions") or ()):
        for j, repo in enumerate(session.get("repositories") or ()):
            found = by_name.get(repo.get("name"))
            if found is None:
                continue
            held = _spec(found)
            ref = (backends.get(repo.get("backend")) or {}).get("storageRef") or {}
            stored = held.get("storageRef") or {}
            same_target = (held.get("appRef") or {}).get("name") == target.get("name") and (
                held.get("appRef") or {}
            ).get("kind") == target.get("kind")
            if not same_target or stored.get("name") != ref.get("name"):
                problems.append(
                    (
                        f"spec.sessions[{i}].repositories[{j}].name",
                        f"repository {repo.get('name')!r} is already used for another "
                        "target or storage",
                    )
                )
    return problems


class BackupWebhook:
    """The validating webhook of every KubeStash kind (status writes pass)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def admit(self, request: AdmissionRequest) -> None:
        if request.subresource == "status" or request.operation == "DELETE":
            return
        obj = request.object
        assert obj is not None
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            return
        problems = await self._problems(request, obj)
        if problems:
            kind = request.kind
            text = "; ".join(f"{field}: {message}" for field, message in problems)
            raise errors.Invalid(
                f'admission webhook "{kind.lower()}.validators.kubestash.com" denied the '
                f"request: {text}",
                causes=[errors.Cause(field, message) for field, message in problems],
            )

    async def _problems(self, request: AdmissionRequest, obj: dict[str, Any]) -> Problems:
        kind = request.kind
        if kind == "BackupSession":
            if request.operation == "UPDATE" and request.old_object is not None:
                return backup_session_update(request.old_object, obj)
            return []
        if kind == "RestoreSession":
            return restore_session(obj)
        if kind == "BackupConfiguration":
            repositories = await self._client.list("repositories", namespace=request.namespace)
            return backup_configuration(obj) + repositories_reused(obj, repositories)
        in_use = kind == "BackupStorage" and request.operation == "UPDATE"
        if in_use and await self._storage_in_use(request, obj):
            return [("spec.storage", "BackupStorage is currently in use and cannot be modified")]
        if kind in ("BackupStorage", "RetentionPolicy"):
            others = await self._client.list(request.plural, namespace=request.namespace)
            check = backup_storage if kind == "BackupStorage" else retention_policy
            return check(obj, others)
        return []

    async def _storage_in_use(self, request: AdmissionRequest, obj: dict[str, Any]) -> bool:
        """`spec.storage` changes while a Repository uses the storage."""
        if _spec(request.old_object).get("storage") == _spec(obj).get("storage"):
            return False
        for repo in await self._client.list("repositories", namespace=None):
            ref = _spec(repo).get("storageRef") or {}
            namespace = ref.get("namespace") or repo["metadata"].get("namespace")
            if ref.get("name") == request.name and namespace == request.namespace:
                return True
        return False
