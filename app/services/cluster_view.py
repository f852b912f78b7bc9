"""One batched look at the cluster: every managed database CR, by database id.

    view = await ClusterView(gateway).snapshot()
    view.databases["db-..."]   a `Listed`: what the passes read of the CR carrying that
                               database id label (never the CR itself)
    view.orphans               managed CRs whose id label is missing or malformed
    view.calls                 how many list requests it took
    view.bindings["db-..."]    its AppBinding, parsed (`data_plane.Binding`; only with
                               `snapshot(bindings=True)`)

One LIST per engine kind with the managed-by label selector, in pages of `chunk` objects
(limit/continue): the cost grows with the number of pages, never with one GET per database.
The status sync and the reconciler both read the cluster this way; the status sync also
asks for the AppBindings (one more paginated LIST per cluster, KubeDB's managed-by label),
matched to the CRs by namespace and name (KubeDB names an AppBinding after its database).

Memory: a pass over 100,000 databases must fit the Deployment's memory, so each object is
reduced as its page arrives (`ClusterGateway.list_narrow`: one page of JSON alive at a time,
decoded into only the fields read, `listed_shapes`) to a slotted `Listed` holding the
observed status (`status_mapping.observe_database`), the part of the spec drift repair
compares (`drift.observed_part`) and where it is; equal statuses, spec parts and bindings
(most of a fleet) are held once per snapshot, and each reduce runs once per distinct raw
input (`listed_shapes.ListedReader`, kept across passes). Must not: keep a CR or an
AppBinding as listed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.cluster import errors as cluster_errors
from app.cluster.config import LIST_CHUNK
from app.domain import data_plane, drift, engines, status_mapping
from app.domain.databases import Database
from app.domain.manifests import labels
from app.observability.log import get_logger
from app.services import listed_shapes
from app.services.clusters import ClusterFleet, ClusterUnavailable
from app.services.ports import ClusterGateway

log = get_logger(__name__)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Listed:
    """One managed database CR as the passes read it."""

    kind: str
    namespace: str
    name: str
    domain: str  # its tenant labels (an orphan's event carries them)
    project: str
    observed: status_mapping.ObservedDatabase
    # `drift.observed_part` of the CR: shared, never to be changed; compared by `spec_text`.
    spec: Mapping[str, Any] = field(compare=False)
    spec_text: str = ""  # `spec` as JSON: equal exactly when the parts are (shared too)

    @property
    def where(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


class Listing(Mapping[str, Listed]):
    """Listed CRs by database id, kept as two maps of strings and ints: each id's name, and
    an index into the few distinct (kind, namespace, tenant, status, spec part) a fleet
    has. Maps of strings and ints are never tracked by CPython's collector, so the full
    collections during a pass do not walk one entry per database (that walk, at every
    collection, made a pass's cost grow faster than its fleet). `listing[id]` builds the
    `Listed` when asked."""

    __slots__ = ("_at", "_heads", "_index", "_keyed", "_names")

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._at: dict[str, int] = {}
        self._heads: list[Listed] = []  # one per distinct head, its name left empty
        self._index: dict[Listed, int] = {}
        # A narrow listing's key of a head (its strings and the reader's numbers of its
        # status and spec part) -> the head's index: no `Listed` built or hashed per CR.
        self._keyed: dict[tuple[str, str, str, str, int, int], int] = {}

    def add(self, database_id: str, listed: Listed) -> None:
        _, name, at = self.head((database_id, listed))
        self.add_row(database_id, name, at)

    def head(self, found: tuple[str | None, Listed]) -> tuple[str | None, str, int]:
        """(id, Listed) as (id, name, index of its head): what a listing keeps meanwhile."""
        database_id, listed = found
        head = dataclasses.replace(listed, name="")
        at = self._index.get(head)
        if at is None:
            at = self._index[head] = len(self._heads)
            self._heads.append(head)
        return database_id, listed.name, at

    def keyed(self, key: tuple[str, str, str, str, int, int]) -> int | None:
        return self._keyed.get(key)

    def keep(self, key: tuple[str, str, str, str, int, int], head: Listed) -> int:
        """The index of `head` (its name empty), remembered under `key`."""
        _, _, at = self.head((None, head))
        self._keyed[key] = at
        return at

    def add_row(self, database_id: str, name: str, at: int) -> None:
        self._names[database_id] = name
        self._at[database_id] = at

    def namespace_of(self, at: int) -> str:
        return self._heads[at].namespace

    def head_of(self, database_id: str) -> Listed | None:
        """What is listed of the database but its name (left empty), without building a
        `Listed` for it: a pass that reads only its status or spec part asks for this."""
        at = self._at.get(database_id)
        return None if at is None else self._heads[at]

    def __getitem__(self, database_id: str) -> Listed:
        return dataclasses.replace(
            self._heads[self._at[database_id]], name=self._names[database_id]
        )

    def __contains__(self, database_id: object) -> bool:
        return database_id in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


class Shared(Mapping[str, V]):
    """Values by database id where most databases share one (AppBinding facts): an index per
    id (untracked by the collector, as `Listing`) into the distinct values."""

    __slots__ = ("_at", "_index", "_values")

    def __init__(self) -> None:
        self._at: dict[str, int] = {}
        self._values: list[V] = []
        self._index: dict[V, int] = {}

    def add(self, database_id: str, value: V) -> None:
        self.add_row(database_id, self.index_of(value))

    def index_of(self, value: V) -> int:
        """The index of `value` among the distinct values (kept from now on)."""
        at = self._index.get(value)
        if at is None:
            at = self._index[value] = len(self._values)
            self._values.append(value)
        return at

    def add_row(self, database_id: str, at: int) -> None:
        self._at[database_id] = at

    def __getitem__(self, database_id: str) -> V:
        return self._values[self._at[database_id]]

    def __contains__(self, database_id: object) -> bool:
        return database_id in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    databases: Listing = field(default_factory=Listing)
    # Managed CRs without a usable database id label: (kind, namespace, name).
    orphans: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0
    # Provider ids (None: databases without one) whose cluster could not be listed: their
    # databases are neither missing nor synced this time.
    unlisted: frozenset[str | None] = frozenset()
    bindings: Mapping[str, data_plane.Binding] = field(default_factory=Shared)

    def covers(self, database: Database) -> bool:
        return database.provider_id not in self.unlisted


class _OneCluster:
    """A single gateway as the only cluster (tests, benchmarks, one-cluster installs)."""

    def __init__(self, gateway: ClusterGateway) -> None:
        self._gateway = gateway

    async def clusters(
        self,
    ) -> tuple[list[tuple[frozenset[str | None], ClusterGateway]], frozenset[str]]:
        return [(frozenset({None}), self._gateway)], frozenset()

    async def gateway_for(self, database: Database) -> ClusterGateway:
        return self._gateway


class ClusterView:
    def __init__(self, source: ClusterGateway | ClusterFleet, *, chunk: int = LIST_CHUNK) -> None:
        self._source = source if isinstance(source, ClusterFleet) else _OneCluster(source)
        self._chunk = chunk
        self._reader = listed_shapes.ListedReader()  # memoised reduces, across passes

    async def snapshot(self, *, bindings: bool = False) -> Snapshot:
        """Every cluster's managed CRs (and their AppBindings with `bindings`). A cluster
        whose listing fails is left out (its providers in `unlisted`, logged); when none
        could be listed the error is raised (a partial view must never make a database look
        vanished)."""
        found = Listing()
        bound: Shared[data_plane.Binding] | None = Shared() if bindings else None
        orphans: list[tuple[str, str, str]] = []
        calls, failure = 0, None
        clusters, unreachable = await self._source.clusters()
        unlisted: set[str | None] = set(unreachable)
        for keys, gateway in clusters:
            try:
                calls += await self._list_one(gateway, found, orphans, bound, _Shared())
            except cluster_errors.ClusterError as exc:
                log.warning(
                    "cluster_listing_failed", providers=sorted(map(str, keys)), error=str(exc)
                )
                unlisted |= keys
                failure = exc
        if failure is not None and all(keys <= unlisted for keys, _ in clusters):
            raise failure
        return Snapshot(
            databases=found,
            orphans=orphans,
            calls=calls,
            unlisted=frozenset(unlisted),
            bindings=Shared() if bound is None else bound,
        )

    async def _list_one(
        self,
        gateway: ClusterGateway,
        found: Listing,
        orphans: list[tuple[str, str, str]],
        bound: Shared[data_plane.Binding] | None,
        shared: _Shared,
    ) -> int:
        calls = 0
        here: dict[str, str] = {}  # "namespace/name" -> database id (no tuples: untracked)
        managed = {labels.MANAGED_BY_KEY: labels.MANAGED_BY}
        for engine in engines.Engine:
            resource = engines.spec(engine).database_resource
            items = await gateway.list_narrow(
                resource,
                listed_shapes.DatabaseCR,
                # Kept until the kind is listed: a name and an index (untracked), no Listed.
                lambda cr: _reduce_narrow(cr, found, self._reader, shared),
                lambda obj: found.head(_reduce(obj, shared)),
                labels=managed,
                chunk_size=self._chunk,
                all_namespaces=True,
            )
            calls += max(1, math.ceil(len(items) / self._chunk))
            for database_id, name, at in items:
                namespace = found.namespace_of(at)
                if database_id:
                    found.add_row(database_id, name, at)
                    here[f"{namespace}/{name}"] = database_id
                else:
                    orphans.append((resource.kind, namespace, name))
        if bound is not None:
            calls += await self._list_bindings(gateway, here, bound, shared)
        return calls

    async def _list_bindings(
        self,
        gateway: ClusterGateway,
        here: dict[str, str],
        bound: Shared[data_plane.Binding],
        shared: _Shared,
    ) -> int:
        # Each reduce keeps an id and an index (untracked), not the binding, until all are listed.
        def reduce(obj: dict[str, Any]) -> tuple[str | None, int]:
            metadata = obj.get("metadata") or {}
            database_id = here.get(
                f"{metadata.get('namespace') or ''}/{metadata.get('name') or ''}"
            )
            if database_id is None:
                return None, -1
            return database_id, bound.index_of(shared.one(data_plane.parse(obj)))

        def narrow(obj: listed_shapes.AppBindingCR) -> tuple[str | None, int]:
            metadata = obj.metadata or _NO_BINDING_METADATA
            database_id = here.get(f"{metadata.namespace or ''}/{metadata.name or ''}")
            if database_id is None:
                return None, -1
            return database_id, bound.index_of(shared.one(self._reader.binding(obj)))

        try:
            items = await gateway.list_narrow(
                data_plane.APP_BINDING,
                listed_shapes.AppBindingCR,
                narrow,
                reduce,
                labels=data_plane.KUBEDB_MANAGED,
                chunk_size=self._chunk,
                all_namespaces=True,
            )
        except (cluster_errors.NotFound, cluster_errors.Forbidden) as exc:
            # Not served, or not granted: every database keeps what it had (the CRs still
            # sync), and the log says why.
            log.warning("app_binding_listing_failed", error=exc.message)
            return 1
        for database_id, at in items:
            if database_id is not None:
                bound.add_row(database_id, at)
        return max(1, math.ceil(len(items) / self._chunk))

    async def exists(
        self, database: Database, resource: engines.Resource, name: str, namespace: str
    ) -> bool:
        """One object on the database's cluster, read directly (to confirm what an older
        snapshot says is missing)."""
        try:
            gateway = await self._source.gateway_for(database)
        except ClusterUnavailable:
            return True  # cannot look: never call a database gone on no evidence
        return await gateway.find(resource, name, namespace=namespace) is not None


class _Shared:
    """Equal values met while listing, held once: most of a fleet shares its status, the
    shape of its spec and its binding's facts."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[Hashable, Any] = {}

    def one(self, value: V, key: Hashable = None) -> V:
        found: V = self._seen.setdefault(value if key is None else key, value)
        return found


def _reduce(obj: Mapping[str, Any], shared: _Shared) -> tuple[str | None, Listed]:
    """A listed CR's database id label (None when missing or malformed) and its `Listed`."""
    metadata = obj.get("metadata") or {}
    tags = metadata.get("labels") or {}
    database_id = tags.get(labels.DATABASE_ID_KEY)
    part = drift.observed_part(obj)
    # JSON text tells equal JSON values apart exactly (true, 1 and 1.0 differ).
    text = shared.one(json.dumps(part, separators=(",", ":")))
    listed = Listed(
        kind=sys.intern(str(obj.get("kind"))),
        namespace=sys.intern(str(metadata.get("namespace") or "")),
        name=str(metadata.get("name") or ""),
        domain=sys.intern(str(tags.get(labels.DOMAIN_KEY) or "")),
        project=sys.intern(str(tags.get(labels.PROJECT_KEY) or "")),
        observed=shared.one(status_mapping.observe_database(obj)),
        spec=shared.one(part, ("spec", text)),
        spec_text=text,
    )
    return (database_id if isinstance(database_id, str) and database_id else None), listed


_NO_BINDING_METADATA = listed_shapes.BindingMetadata()


def _reduce_narrow(
    cr: listed_shapes.DatabaseCR,
    found: Listing,
    reader: listed_shapes.ListedReader,
    shared: _Shared,
) -> tuple[str | None, str, int]:
    """As `found.head(_reduce(obj, shared))` for the CR `cr` is the narrow shape of, without
    building a `Listed` unless its head is new to the listing."""
    metadata = cr.metadata or listed_shapes.NO_METADATA
    tags = metadata.labels or listed_shapes.NO_LABELS
    observed_number, observed = reader.observed(cr)
    spec_number, part, text = reader.spec(cr)
    kind, namespace = str(cr.kind), metadata.namespace or ""
    domain, project = tags.domain or "", tags.project or ""
    key = (kind, namespace, domain, project, observed_number, spec_number)
    at = found.keyed(key)
    if at is None:
        text = shared.one(text)
        head = Listed(
            kind=sys.intern(kind),
            namespace=sys.intern(namespace),
            name="",
            domain=sys.intern(domain),
            project=sys.intern(project),
            observed=shared.one(observed),
            spec=shared.one(part, ("spec", text)),
            spec_text=text,
        )
        at = found.keep(key, head)
    return tags.database_id or None, metadata.name or "", at
