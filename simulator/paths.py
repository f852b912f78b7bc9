"""Resource URLs: from `/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}/{sub}` to a
`Target`, and from a request to its Kubernetes verb (get, list, watch, create, update,
patch, delete, deletecollection), as the routes and the request statistics both need.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from simulator import errors
from simulator.registry import Registry, ResourceType

_NOT_FOUND = "the server could not find the requested resource"


@dataclass(frozen=True, slots=True)
class Target:
    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def parse(registry: Registry, group: str, version: str, rest: str) -> Target:
    """`rest` is what follows `/api/v1/` or `/apis/{group}/{version}/`."""
    segments = rest.strip("/").split("/") if rest.strip("/") else []
    namespace = None
    # /api/v1/namespaces/{name}/status is the namespace's own subresource, not a collection.
    if (
        len(segments) >= 3
        and segments[0] == "namespaces"
        and not (group == "" and len(segments) == 3 and segments[2] in ("status", "finalize"))
    ):
        namespace, segments = segments[1], segments[2:]
    if not segments or len(segments) > 3 or not all(segments):
        raise errors.NotFound(_NOT_FOUND)
    rt = registry.by_path(group, version, segments[0])
    if rt is None or (namespace is not None and not rt.namespaced):
        raise errors.NotFound(_NOT_FOUND)
    name = segments[1] if len(segments) > 1 else None
    subresource = segments[2] if len(segments) > 2 else None
    if subresource is not None and (subresource != "status" or not rt.status):
        raise errors.NotFound(_NOT_FOUND)
    return Target(rt, namespace, name, subresource)


def is_watch(query: dict[str, list[str]] | dict[str, str]) -> bool:
    value = query.get("watch")
    if isinstance(value, list):
        value = value[0] if value else None
    return value in ("1", "true", "True")


def verb(method: str, target: Target, *, watch: bool) -> str:
    method = method.upper()
    if target.name is None:
        if method == "GET":
            return "watch" if watch else "list"
        return {"POST": "create", "DELETE": "deletecollection"}.get(method, method.lower())
    return {
        "GET": "get",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }.get(method, method.lower())


def split(path: str) -> tuple[str, str, str] | None:
    """(group, version, rest) of a resource URL, or None for any other path."""
    parts = path.strip("/").split("/", 3)
    if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
        return "", "v1", "/".join(parts[2:])
    if len(parts) >= 4 and parts[0] == "apis":
        return parts[1], parts[2], parts[3]
    return None


def classify(registry: Registry, method: str, path: str, query_string: str) -> tuple[str, str]:
    """(verb, resource) for request statistics: ("list", "mongodbs"),
    ("patch", "mongodbs/status"); other URLs count as (method, path)."""
    parts = split(path)
    if parts is not None:
        try:
            target = parse(registry, *parts)
        except errors.NotFound:
            pass
        else:
            resource = target.resource.plural
            if target.subresource:
                resource += f"/{target.subresource}"
            return verb(method, target, watch=is_watch(parse_qs(query_string))), resource
    return method.lower(), path
