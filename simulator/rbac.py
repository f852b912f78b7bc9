"""Authorization as kube-apiserver decides it with `--authorization-mode=RBAC`: the members
of `system:masters` may do anything; everyone else may do what a Role or ClusterRole bound
to them grants, nothing more (RBAC only adds; there are no deny rules).

Bindings are read from the store on every decision (ClusterRoleBindings, then the
RoleBindings of the request's namespace), so a change applies to the next request, as with
kube-apiserver's informers but without their lag. Rule matching follows
`k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go`: `*` for verbs, groups,
resources and URLs; `*/status`-style subresource wildcards; `resourceNames` (which never
match a request without a name: list, watch, create); URL prefixes ending in `*`.

The bootstrap policy (`bootstrap_policy`) is the part of kube-apiserver's that matters
here: `cluster-admin` for `system:masters`, discovery and the self reviews for every
authenticated user, the health and version endpoints for everyone.

This module only decides; it must not know about HTTP (see `access`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulator import errors
from simulator.objects import Obj
from simulator.registry import Registry, ResourceType
from simulator.requestinfo import Attributes
from simulator.store import Store

GROUP = "rbac.authorization.k8s.io"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sends a request (Kubernetes `user.Info`)."""

    name: str
    groups: tuple[str, ...]
    uid: str = ""

    def user_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        return info


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Grant:
    """One binding that applies to the identity, with the rules of its role."""

    rules: tuple[dict[str, Any], ...]
    describes: str
    """RBAC's words for it: `ClusterRoleBinding "b" of ClusterRole "r" to Group "g"`."""


class Authorizer:
    def __init__(self, store: Store, registry: Registry) -> None:
        self._store = store
        self._types = {
            kind: _rbac_type(registry, kind)
            for kind in ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
        }

    def decide(self, identity: Identity, attrs: Attributes) -> Decision:
        if MASTERS in identity.groups:
            return Decision(True, "")
        problems: list[str] = []
        for grant in self._grants(identity, attrs.namespace, problems):
            if any(rule_allows(rule, attrs) for rule in grant.rules):
                return Decision(True, f"RBAC: allowed by {grant.describes}")
        return Decision(False, f"RBAC: {'; '.join(problems)}" if problems else "")

    def check(self, identity: Identity, attrs: Attributes) -> None:
        """Raise the 403 a real server answers when the request is not allowed."""
        decision = self.decide(identity, attrs)
        if not decision.allowed:
            raise forbidden(identity, attrs, decision.reason)

    def rules(
        self, identity: Identity, namespace: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        """(resource rules, non-resource rules, problems) that apply in `namespace`, as a
        SelfSubjectRulesReview reports them."""
        problems: list[str] = []
        resource_rules: list[dict[str, Any]] = []
        url_rules: list[dict[str, Any]] = []
        for grant in self._grants(identity, namespace, problems):
            for rule in grant.rules:
                if rule.get("nonResourceURLs"):
                    url_rules.append(
                        {"verbs": rule.get("verbs", []), "nonResourceURLs": rule["nonResourceURLs"]}
                    )
                if rule.get("resources"):
                    kept = ("verbs", "apiGroups", "resources", "resourceNames")
                    resource_rules.append({k: rule[k] for k in kept if rule.get(k)})
        return resource_rules, url_rules, problems

    def _grants(self, identity: Identity, namespace: str, problems: list[str]) -> Iterator[_Grant]:
        for _, binding in self._store.scan(self._types["clusterrolebindings"]):
            subject = _subject(binding, identity, "")
            if subject is not None:
                yield from self._grant(binding, subject, "", problems)
        if namespace:
            for _, binding in self._store.scan(self._types["rolebindings"], namespace):
                subject = _subject(binding, identity, namespace)
                if subject is not None:
                    yield from self._grant(binding, subject, namespace, problems)

    def _grant(
        self, binding: Obj, subject: dict[str, Any], namespace: str, problems: list[str]
    ) -> Iterator[_Grant]:
        ref = binding.get("roleRef") or {}
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if kind == "Role" and namespace:
            role = self._store.get(self._types["roles"], namespace, name)
        elif kind == "ClusterRole":
            role = self._store.get(self._types["clusterroles"], None, name)
        else:
            return
        if role is None:
            resource = "roles" if kind == "Role" else "clusterroles"
            problems.append(f'{resource}.{GROUP} "{name}" not found')
            return
        binding_name = str(binding.get("metadata", {}).get("name", ""))
        if namespace:
            where = f'RoleBinding "{binding_name}/{namespace}"'
        else:
            where = f'ClusterRoleBinding "{binding_name}"'
        yield _Grant(
            tuple(rule for rule in role.get("rules") or () if isinstance(rule, dict)),
            f'{where} of {kind} "{name}" to {_subject_words(subject, namespace)}',
        )


def _rbac_type(registry: Registry, plural: str) -> ResourceType:
    rt = registry.by_path(GROUP, "v1", plural)
    if rt is None:
        raise LookupError(f"the registry has no {plural}.{GROUP}: RBAC cannot be enforced")
    return rt


def _subject_words(subject: dict[str, Any], namespace: str) -> str:
    """RBAC's `describeSubject` (a service account reads `name/namespace`)."""
    name = str(subject.get("name", ""))
    if subject.get("kind") == "ServiceAccount":
        name = f"{name}/{subject.get('namespace') or namespace}"
    return f'{subject.get("kind", "")} "{name}"'


def _subject(binding: Obj, identity: Identity, namespace: str) -> dict[str, Any] | None:
    """The first subject of the binding that names the identity, if any."""
    for subject in binding.get("subjects") or ():
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == identity.name:
            return subject
        if kind == "Group" and name in identity.groups:
            return subject
        if kind == "ServiceAccount":
            sa_namespace = subject.get("namespace") or namespace
            if identity.name == f"system:serviceaccount:{sa_namespace}:{name}":
                return subject
    return None


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    if not _matches(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(rule.get("nonResourceURLs"), attrs.path)
    return (
        _matches(rule.get("apiGroups"), attrs.api_group)
        and _resource_matches(rule.get("resources"), attrs)
        and (not rule.get("resourceNames") or attrs.name in rule["resourceNames"])
    )


def _matches(allowed: object, requested: str) -> bool:
    return isinstance(allowed, list) and ("*" in allowed or requested in allowed)


def _resource_matches(allowed: object, attrs: Attributes) -> bool:
    if not isinstance(allowed, list):
        return False
    wanted = attrs.full_resource
    return any(
        item in ("*", wanted) or (attrs.subresource and item == f"*/{attrs.subresource}")
        for item in allowed
    )


def _url_matches(allowed: object, path: str) -> bool:
    if not isinstance(allowed, list):
        return False
    for url in allowed:
        if not isinstance(url, str):
            continue
        if url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def forbidden(identity: Identity, attrs: Attributes, reason: str = "") -> errors.Forbidden:
    """The 403 with kube-apiserver's words (`responsewriters.forbiddenMessage`)."""
    if not attrs.resource_request:
        why = f'User "{identity.name}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        scope = (
            f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        )
        why = (
            f'User "{identity.name}" cannot {attrs.verb} resource "{attrs.full_resource}" '
            f'in API group "{attrs.api_group}" {scope}'
        )
    if reason:
        why = f"{why}: {reason}"
    if not attrs.resource_request:
        return errors.Forbidden(f"forbidden: {why}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    target = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    return errors.Forbidden(
        f"{target} is forbidden: {why}",
        name=attrs.name or None,
        group=attrs.api_group or None,
        kind=attrs.resource,
    )


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "rules": rules,
    }


def _binding(name: str, *groups: str) -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups],
    }


_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*"]


def bootstrap_policy() -> list[Obj]:
    """The ClusterRoles and ClusterRoleBindings every cluster starts with (the subset of
    kube-apiserver's bootstrap policy this simulator serves)."""
    self_reviews = [
        {
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            "verbs": ["create"],
        },
        {
            "apiGroups": ["authentication.k8s.io"],
            "resources": ["selfsubjectreviews"],
            "verbs": ["create"],
        },
    ]
    return [
        _cluster_role(
            "cluster-admin",
            [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        ),
        _binding("cluster-admin", MASTERS),
        _cluster_role(
            "system:discovery",
            [{"nonResourceURLs": sorted(_DISCOVERY_URLS + _PUBLIC_URLS), "verbs": ["get"]}],
        ),
        _binding("system:discovery", AUTHENTICATED),
        _cluster_role("system:basic-user", self_reviews),
        _binding("system:basic-user", AUTHENTICATED),
        _cluster_role(
            "system:public-info-viewer", [{"nonResourceURLs": _PUBLIC_URLS, "verbs": ["get"]}]
        ),
        _binding("system:public-info-viewer", AUTHENTICATED, UNAUTHENTICATED),
    ]
