"""The resource types the simulator serves: one table, from which paths and discovery derive.

A `ResourceType` says everything the generic API server needs about a kind: where it lives
(group, version, plural, scope), what it is called (kind, singular, short names, categories)
and which rules apply (a `/status` subresource, custom-resource strictness). It says nothing
about behaviour; admission hooks and controllers (see `extensions`) add that.

`default_registry()` holds the core kinds this project uses and the KubeDB kinds of
reference §1.1, §4 and §5. Plugins may `add` more before the server starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from simulator import immutable, kinds
from simulator.objects import Obj


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    status: bool = False
    """Has a `/status` subresource: the main endpoint ignores `.status`, `/status` only it."""
    custom: bool = False
    """A custom resource: PUT needs a resourceVersion, `generation` is tracked, no
    strategic-merge patches (reference §8)."""
    categories: tuple[str, ...] = ()
    spec_finalizers: bool = False
    """`spec.finalizers` also hold deletion (namespaces)."""
    dns_label_names: bool = False
    """Names must be RFC 1123 labels (no dots, 63 characters), not subdomains."""
    path_segment_names: bool = False
    """Names need only be valid path segments (RBAC kinds: `system:discovery`)."""
    columns: tuple[tuple[str, str], ...] = ()
    """Printer columns (name, JSON path like `.status.phase`) between Name and Age."""
    prepare: Callable[[Obj, Obj | None], None] | None = None
    """The kind's own write rule (new object, stored object or None), run on every create
    and main-endpoint update after admission (see `kinds`)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def resource(self) -> str:
        """`plural.group` (just `plural` in the core group): the name in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def tracks_generation(self) -> bool:
        return self.custom


class Registry:
    """Resource types by path (group, version, plural) and by (apiVersion, kind)."""

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self._resolved: dict[str, ResourceType] = {}
        for rt in types:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        path = (rt.group, rt.version, rt.plural)
        if path in self._by_path or (rt.api_version, rt.kind) in self._by_kind:
            raise ValueError(f"resource type {rt.resource}/{rt.version} is already registered")
        self._by_path[path] = rt
        self._by_kind[(rt.api_version, rt.kind)] = rt
        self._resolved.clear()

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._by_path.values())

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((api_version, kind))

    def resolve(self, ref: str | ResourceType) -> ResourceType:
        """A type by plural, `plural.group`, kind, singular or short name (as kubectl reads
        them); `LookupError` if none or several match."""
        if isinstance(ref, ResourceType):
            return ref
        if (known := self._resolved.get(ref)) is not None:
            return known
        plural, _, group = ref.partition(".")
        matches = [
            rt
            for rt in self
            if (not group or rt.group == group)
            and (
                plural in (rt.plural, rt.singular, rt.kind)
                or plural.lower() == rt.kind.lower()
                or plural in rt.short_names
            )
        ]
        if len(matches) != 1:
            found = "no" if not matches else "several"
            raise LookupError(f"{found} resource types match {ref!r}")
        self._resolved[ref] = matches[0]
        return matches[0]

    def group_versions(self) -> dict[str, list[str]]:
        """Groups in registration order, each with its versions (core group is "")."""
        groups: dict[str, list[str]] = {}
        for rt in self:
            versions = groups.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self if rt.group == group and rt.version == version]


CORE_TYPES = (
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        ("ns",),
        namespaced=False,
        spec_finalizers=True,
        dns_label_names=True,
        columns=(("Status", ".status.phase"),),
        prepare=kinds.prepare_namespace,
    ),
    ResourceType(
        "",
        "v1",
        "Secret",
        "secrets",
        "secret",
        columns=(("Type", ".type"),),
        prepare=kinds.prepare_secret,
    ),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        "service",
        ("svc",),
        status=True,
        categories=("all",),
        dns_label_names=True,
        prepare=kinds.prepare_service,
        columns=(("Type", ".spec.type"), ("Cluster-IP", ".spec.clusterIP")),
    ),
    ResourceType(
        "",
        "v1",
        "Event",
        "events",
        "event",
        ("ev",),
        columns=(
            ("Type", ".type"),
            ("Reason", ".reason"),
            ("Object", ".involvedObject.name"),
            ("Message", ".message"),
        ),
    ),
    ResourceType(
        "", "v1", "ConfigMap", "configmaps", "configmap", ("cm",), prepare=immutable.check_configmap
    ),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", ("sa",)),
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        ("po",),
        status=True,
        categories=("all",),
        columns=(("Status", ".status.phase"), ("Node", ".spec.nodeName")),
    ),
    ResourceType(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        ("pvc",),
        status=True,
        columns=(("Status", ".status.phase"), ("Volume", ".spec.volumeName")),
    ),
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        ("sts",),
        status=True,
        categories=("all",),
        columns=(("Ready", ".status.readyReplicas"),),
    ),
    *(
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            kind,
            kind.lower() + "s",
            kind.lower(),
            namespaced=namespaced,
            path_segment_names=True,
        )
        for kind, namespaced in (
            ("Role", True),
            ("RoleBinding", True),
            ("ClusterRole", False),
            ("ClusterRoleBinding", False),
        )
    ),
)

# (kind, plural, short name, ops short name, catalog short name): reference §1.1 and §4.
_KUBEDB_ENGINES = (
    ("MongoDB", "mongodbs", "mg", "mgops", "mgversion"),
    ("Postgres", "postgreses", "pg", "pgops", "pgversion"),
    ("MySQL", "mysqls", "my", "myops", "myversion"),
    ("MariaDB", "mariadbs", "md", "mariaops", "mdversion"),
    ("Redis", "redises", "rd", "rdops", "rdversion"),
)


def _kubedb_types() -> Iterator[ResourceType]:
    for kind, plural, short, _, _ in _KUBEDB_ENGINES:
        yield ResourceType(
            "kubedb.com",
            "v1",
            kind,
            plural,
            kind.lower(),
            (short,),
            status=True,
            custom=True,
            categories=("datastore", "kubedb", "appscode", "all"),
            columns=(("Version", ".spec.version"), ("Status", ".status.phase")),
        )
    for kind, _, _, ops_short, _ in _KUBEDB_ENGINES:
        yield ResourceType(
            "ops.kubedb.com",
            "v1alpha1",
            f"{kind}OpsRequest",
            f"{kind.lower()}opsrequests",
            f"{kind.lower()}opsrequest",
            (ops_short,),
            status=True,
            custom=True,
            categories=("ops", "kubedb", "appscode", "all"),
            columns=(("Type", ".spec.type"), ("Status", ".status.phase")),
        )
    for kind, _, _, _, catalog_short in _KUBEDB_ENGINES:
        yield ResourceType(
            "catalog.kubedb.com",
            "v1alpha1",
            f"{kind}Version",
            f"{kind.lower()}versions",
            f"{kind.lower()}version",
            (catalog_short,),
            namespaced=False,
            custom=True,
            categories=("catalog", "kubedb", "appscode"),
            columns=(
                ("Version", ".spec.version"),
                ("Distribution", ".spec.distribution"),
                ("Deprecated", ".spec.deprecated"),
            ),
        )


KUBEDB_TYPES = tuple(_kubedb_types())


def default_registry() -> Registry:
    return Registry((*CORE_TYPES, *KUBEDB_TYPES))
