"""What a request asks, in the terms the authorizer decides on: kube-apiserver's
`RequestInfoFactory`, from the URL and method alone (no registry: an unknown resource is
authorized first, then answered 404, as a real server does).

`/api/v1/namespaces/ns/secrets/x` is a resource request (verb get, namespace ns, resource
secrets, name x); `/api`, `/apis/kubedb.com/v1`, `/healthz`, `/_sim/config` are not: they
are authorized as non-resource URLs with the lowercased method as verb.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

_RESOURCE_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update"}
_RESOURCE_VERBS |= {"PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True, slots=True)
class Attributes:
    """One request as the authorizer sees it (Kubernetes `authorizer.Attributes`)."""

    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    """The URL path, for non-resource requests."""

    @property
    def full_resource(self) -> str:
        """`postgreses/status` for a subresource, else the resource."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def parse(method: str, path: str, query_string: str = "") -> Attributes:
    parts = [p for p in path.split("/") if p]
    if parts[:1] not in (["api"], ["apis"]) or len(parts) < (3 if parts[0] == "api" else 4):
        return Attributes(verb=method.lower(), resource_request=False, path=path)
    group = ""
    rest = parts[1:]
    if parts[0] == "apis":
        group, rest = rest[0], rest[1:]
    rest = rest[1:]  # the version
    verb = _RESOURCE_VERBS.get(method.upper(), method.lower())
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        query = parse_qs(query_string)
        verb = "watch" if query.get("watch", [""])[0] in ("1", "true", "True") else "list"
        name = _exact_name(query.get("fieldSelector", [""])[0])
    elif not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        verb=verb,
        namespace=namespace,
        api_group=group,
        resource=resource,
        subresource=subresource,
        name=name,
        path=path,
    )


def _exact_name(field_selector: str) -> str:
    """`metadata.name=x` in a field selector narrows a list or watch to one name, which
    `resourceNames` rules then match."""
    for term in field_selector.split(","):
        for operator in ("==", "="):
            key, found, value = term.partition(operator)
            if found and key.strip() == "metadata.name" and not value.startswith("="):
                return value.strip()
    return ""
