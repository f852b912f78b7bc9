"""Input rules the API applies before anything is stored: names, labels, topology and replica
counts, storage, credentials. Each check returns the value (normalised where that makes sense)
or raises an `errors.InvalidValue` leaf naming the field and the rule, in a sentence a user can
act on. The rules themselves (ranges, odd-only, which topologies exist) come from the engine
table; this module only applies them. Must not: touch the store, the cluster or HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from croniter import croniter

from app.domain import engines, errors
from app.domain.engines import Engine, Topology, TopologySpec
from app.domain.manifests import labels as system_labels

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

DATABASE_NAME_LENGTH = (3, 63)
STORAGE_GB_RANGE = (1, 10_000)
MIN_PASSWORD_LENGTH = 12
# Kubernetes caps all annotations of one object together at 256 KiB.
MAX_ANNOTATIONS_BYTES = 256 * 1024
# Kubernetes sets no count; these are ours, far above any real use, so that a request
# cannot make every read of the database carry an unbounded map (docs/edge.md).
MAX_LABELS = 64
MAX_ANNOTATIONS = 64
BACKUP_RETENTION_DAYS = (1, 365)
BACKUP_RETENTION_COUNT = (1, 1000)
BACKUP_SCHEDULE_LENGTH = (1, 100)
BACKUP_SCHEDULE_NAMES = ("hourly", "daily", "weekly")
# The database settings a PATCH may change without an OpsRequest.
SETTINGS_FIELDS = (
    "labels",
    "annotations",
    "monitoring_enabled",
    "deletion_protection",
    "backup_enabled",
    "backup_schedule",
    "backup_retention_days",
    "backup_retention_count",
    "backup_storage",
    "pitr_enabled",
)
_FLAGS = ("monitoring_enabled", "deletion_protection", "backup_enabled", "pitr_enabled")


def check_dns_label(value: str, *, field: str, min_length: int = 1, max_length: int = 63) -> str:
    """A DNS-1123 label: lowercase letters, digits and '-', alphanumeric at both ends."""
    if not min_length <= len(value) <= max_length:
        raise errors.InvalidName(
            field, f"must be {min_length} to {max_length} characters long, not {len(value)}"
        )
    if not DNS1123_LABEL.match(value):
        raise errors.InvalidName(
            field,
            f"{value!r} is not a DNS-1123 label: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    return value


def check_database_name(name: str, *, field: str = "name") -> str:
    low, high = DATABASE_NAME_LENGTH
    return check_dns_label(name, field=field, min_length=low, max_length=high)


def check_label_key(key: str, *, field: str) -> str:
    """A Kubernetes qualified name: `[prefix/]name`, prefix a DNS-1123 subdomain (≤ 253),
    name ≤ 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        raise errors.InvalidLabels(
            field, f"key prefix {prefix!r} must be a DNS-1123 subdomain of at most 253 characters"
        )
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        raise errors.InvalidLabels(
            field,
            f"key name {name!r} must be 1 to 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit",
        )
    return key


def check_label_selector(selector: str, *, field: str = "label") -> tuple[str, str]:
    """`key=value`, both by the label rules: the one equality a list filters on."""
    key, equals, value = selector.partition("=")
    if not equals or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in selector):
        raise errors.InvalidLabels(field, "a label selector is key=value, as in team=web")
    check_label_key(key, field=field)
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise errors.InvalidLabels(
            field,
            "label value must be at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit (or empty)",
        )
    return key, value


def check_labels(labels: Mapping[str, str], *, field: str = "labels") -> dict[str, str]:
    if len(labels) > MAX_LABELS:
        raise errors.InvalidLabels(field, f"{len(labels)} labels; at most {MAX_LABELS}")
    for key, value in labels.items():
        where = f"{field}.{key}"
        check_label_key(key, field=where)
        if system_labels.is_reserved_key(key, label=True):
            raise errors.InvalidLabels(where, f"label key {key!r} is reserved for the platform")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            raise errors.InvalidLabels(
                where,
                "label value must be at most 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit (or empty)",
            )
    return dict(labels)


def check_annotations(
    annotations: Mapping[str, str], *, field: str = "annotations"
) -> dict[str, str]:
    if len(annotations) > MAX_ANNOTATIONS:
        raise errors.InvalidAnnotations(
            field, f"{len(annotations)} annotations; at most {MAX_ANNOTATIONS}"
        )
    size = 0
    for key, value in annotations.items():
        where = f"{field}.{key}"
        try:
            check_label_key(key, field=where)
        except errors.InvalidLabels as exc:  # the same key rules, said of an annotation
            raise errors.InvalidAnnotations(where, exc.message) from None
        if system_labels.is_reserved_key(key, label=False):
            raise errors.InvalidAnnotations(where, f"annotation key {key!r} is reserved")
        if not isinstance(value, str):
            raise errors.InvalidAnnotations(where, "annotation value must be a string")
        size += len(key.encode()) + len(value.encode())
    if size > MAX_ANNOTATIONS_BYTES:
        raise errors.InvalidAnnotations(
            field, f"annotations total {size} bytes; Kubernetes allows {MAX_ANNOTATIONS_BYTES}"
        )
    return dict(annotations)


def check_pitr(engine: Engine | str, enabled: bool) -> bool:
    """`pitr_enabled` for an engine: only those with a KubeDB archiver (no Redis)."""
    spec = engines.ENGINES[engines.parse_engine(engine)]
    if enabled and spec.archiver_kind is None:
        offered = ", ".join(e.value for e, s in engines.ENGINES.items() if s.archiver_kind)
        raise errors.InvalidValue(
            "pitr_enabled",
            f"{spec.engine.value} has no continuous archiving (no archiver); point-in-time "
            f"recovery is offered for {offered}",
        )
    return enabled


def check_topology(
    engine: Engine | str, *, high_availability: bool, topology: Topology | str | None = None
) -> TopologySpec:
    """The topology a request selects: the engine's standalone one, its default HA one, or
    the named one, which must agree with `high_availability`."""
    spec = engines.spec(engine)
    if topology is None:
        return spec.default_ha if high_availability else spec.standalone
    chosen = spec.topology(topology)
    if chosen.high_availability != high_availability:
        wanted = "true" if chosen.high_availability else "false"
        raise errors.InvalidTopology(
            "topology", f"a {chosen.title} needs high_availability set to {wanted}"
        )
    return chosen


def check_replicas(
    engine: Engine | str, replicas: int, *, topology: TopologySpec, field: str = "replicas"
) -> int:
    """`replicas` against the topology's member rule; the message names the rule."""
    spec = engines.spec(engine)
    rule = topology.replicas
    if rule.allows(replicas):
        return replicas
    message = f"a {topology.title} needs {rule.describe()} {topology.counts}, not {replicas}"
    if not topology.high_availability and replicas > 1:
        ha = spec.default_ha
        message += (
            f"; set high_availability to true for a {ha.title}, "
            f"which takes {ha.replicas.describe()} {ha.counts}"
        )
    raise errors.ReplicaRuleViolated(
        field, message, rule=f"{spec.engine.value}.{topology.topology.value}"
    )


def check_shards(
    engine: Engine | str, shards: int | None, *, topology: TopologySpec, field: str = "shards"
) -> int | None:
    """Shard count: required (defaulted) for Redis Cluster, refused for anything else."""
    spec = engines.spec(engine)
    if topology.shards is None:
        if shards is not None:
            raise errors.InvalidTopology(field, f"a {topology.title} has no shards")
        return None
    if shards is None:
        return topology.default_shards
    if not topology.shards.allows(shards):
        raise errors.ReplicaRuleViolated(
            field,
            f"a {topology.title} needs {topology.shards.describe()} shards, not {shards}",
            rule=f"{spec.engine.value}.{topology.topology.value}.shards",
        )
    return shards


def check_storage_gb(storage_gb: int, *, field: str = "storage_gb") -> int:
    low, high = STORAGE_GB_RANGE
    if isinstance(storage_gb, bool) or not low <= storage_gb <= high:
        raise errors.StorageRuleViolated(
            field, f"storage must be from {low} to {high} GB, not {storage_gb}"
        )
    return storage_gb


def check_storage_growth(current_gb: int, new_gb: int, *, field: str = "storage_gb") -> int:
    """Volumes only grow (KubeDB: the new size must be strictly greater)."""
    check_storage_gb(new_gb, field=field)
    if new_gb <= current_gb:
        raise errors.StorageRuleViolated(
            field,
            f"storage never shrinks: {new_gb} GB must be more than the current {current_gb} GB",
        )
    return new_gb


def check_username(engine: Engine | str, username: str, *, field: str = "username") -> str:
    spec = engines.spec(engine)
    if spec.admin_user_fixed and username != spec.admin_user:
        raise errors.InvalidValue(
            field, f"{spec.title} credentials must use the user {spec.admin_user!r}"
        )
    if not username or len(username) > 63 or not _QUALIFIED_NAME.match(username):
        raise errors.InvalidValue(
            field,
            "username must be 1 to 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit",
        )
    return username


def check_password(password: str, *, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.InvalidValue(
            field, f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    return password


def check_settings(values: Mapping[str, object]) -> dict[str, object]:
    """The settings of `SETTINGS_FIELDS` among `values`, each checked (type and rule); other
    keys are left out. The API checks them at the edge and the update handler again, since
    an operation's desired_state may come from elsewhere (a replay, an older version)."""
    return {
        name: _SETTING_CHECKS[name](name, values[name])
        for name in SETTINGS_FIELDS
        if name in values
    }


def _mapping_setting(name: str, value: object) -> object:
    if not isinstance(value, Mapping):
        raise errors.InvalidLabels(name, f"{name} must be an object of strings")
    return check_labels(value) if name == "labels" else check_annotations(value)


def _flag_setting(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise errors.InvalidValue(name, f"{name} must be true or false")
    return value


def _schedule_setting(name: str, value: object) -> object:
    if not isinstance(value, str):
        raise errors.InvalidValue(name, "backup_schedule must be a text")
    return check_backup_schedule(value)


def _storage_setting(name: str, value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise errors.InvalidValue(name, "backup_storage must be a storage's name")
    return None if value is None else check_dns_label(value, field=name)


def _bounded(bounds: tuple[int, int], *, optional: bool = False) -> Callable[[str, object], object]:
    low, high = bounds

    def check(name: str, value: object) -> object:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise errors.InvalidValue(name, f"{name} must be from {low} to {high}, not {value!r}")
        return value

    return check


_SETTING_CHECKS: dict[str, Callable[[str, object], object]] = {
    "labels": _mapping_setting,
    "annotations": _mapping_setting,
    **dict.fromkeys(_FLAGS, _flag_setting),
    "backup_schedule": _schedule_setting,
    "backup_retention_days": _bounded(BACKUP_RETENTION_DAYS),
    "backup_retention_count": _bounded(BACKUP_RETENTION_COUNT, optional=True),
    "backup_storage": _storage_setting,
}


def check_backup_schedule(schedule: str, *, field: str = "backup_schedule") -> str:
    """`hourly`, `daily`, `weekly`, or a five-field cron expression (minute hour day month
    weekday, checked by croniter; its six-field form with seconds is not cron)."""
    if schedule in BACKUP_SCHEDULE_NAMES:
        return schedule
    low, high = BACKUP_SCHEDULE_LENGTH
    if low <= len(schedule) <= high and len(schedule.split()) == 5 and croniter.is_valid(schedule):
        return schedule
    raise errors.InvalidValue(
        field,
        f"backup_schedule must be {', '.join(BACKUP_SCHEDULE_NAMES[:-1])} or "
        f"{BACKUP_SCHEDULE_NAMES[-1]}, or a cron expression of five fields such as "
        f"'0 3 * * *'; {schedule!r} is neither",
    )
