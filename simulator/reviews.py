"""The self reviews: create-only kinds that are answered, never stored.

- `SelfSubjectAccessReview` (authorization.k8s.io/v1): may I do this? (`kubectl auth can-i`)
- `SelfSubjectRulesReview` (authorization.k8s.io/v1): what may I do in this namespace?
  (`kubectl auth can-i --list`)
- `SelfSubjectReview` (authentication.k8s.io/v1): who am I? (`kubectl auth whoami`)

Each answers for the identity `access` put on the request, with the same `rbac` decision the
request path uses. Creating one is itself authorized (`system:basic-user` grants it).
kubectl posts them in protobuf: bodies are read and answers written as `media` negotiates
(protobuf, JSON or YAML), with the messages of `protoschema`. `KINDS` is their one table:
the routes and the discovery entries (create-only, as a real server lists them) derive
from it. They are not in the `Registry`: nothing stores, lists or watches them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator import access, errors, media
from simulator.rbac import Authorizer, Identity
from simulator.registry import ResourceType
from simulator.requestinfo import Attributes


def _review_kind(group: str, kind: str) -> ResourceType:
    plural = f"{kind.lower()}s"
    return ResourceType(group, "v1", kind, plural, kind.lower(), namespaced=False)


ACCESS = _review_kind("authorization.k8s.io", "SelfSubjectAccessReview")
RULES = _review_kind("authorization.k8s.io", "SelfSubjectRulesReview")
WHOAMI = _review_kind("authentication.k8s.io", "SelfSubjectReview")
KINDS = (ACCESS, RULES, WHOAMI)
"""The review kinds served, in discovery order."""
VERBS = ["create"]
Endpoint = Callable[[Request], Awaitable[Response]]


def path(rt: ResourceType) -> str:
    return f"/apis/{rt.group}/{rt.version}/{rt.plural}"


async def _review(request: Request, rt: ResourceType) -> tuple[dict[str, Any], Identity]:
    body = await media.read_body(request, rt)
    if not isinstance(body, dict) or body.get("kind", rt.kind) != rt.kind:
        raise errors.BadRequest(f"the request body must be a {rt.kind}")
    body["apiVersion"] = rt.api_version
    body["kind"] = rt.kind
    body["metadata"] = {"creationTimestamp": None}
    return body, access.identity(request.scope)


def _invalid(kind: str, group: str, field: str, message: str) -> errors.Invalid:
    return errors.Invalid(
        f'{kind}.{group} "" is invalid: {field}: {message}',
        group=group,
        kind=kind,
        causes=[errors.Cause(field, message)],
    )


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _attributes(spec: dict[str, Any]) -> Attributes:
    resource, url = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(resource, dict) == isinstance(url, dict):
        raise _invalid(
            "SelfSubjectAccessReview",
            "authorization.k8s.io",
            "spec.resourceAttributes",
            'Invalid value: "null": exactly one of nonResourceAttributes or '
            "resourceAttributes must be specified",
        )
    if isinstance(url, dict):
        return Attributes(
            verb=str(url.get("verb", "")), resource_request=False, path=str(url.get("path", ""))
        )
    assert isinstance(resource, dict)
    return Attributes(
        verb=str(resource.get("verb", "")),
        namespace=str(resource.get("namespace", "")),
        api_group=str(resource.get("group", "")),
        resource=str(resource.get("resource", "")),
        subresource=str(resource.get("subresource", "")),
        name=str(resource.get("name", "")),
    )


def routes(authorizer: Authorizer) -> list[Route]:
    async def access_review(request: Request) -> Response:
        body, identity = await _review(request, ACCESS)
        spec = _spec(body)
        decision = authorizer.decide(identity, _attributes(spec))
        status: dict[str, Any] = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        body["status"] = status
        return media.respond(request, ACCESS, body, 201)

    async def rules_review(request: Request) -> Response:
        body, identity = await _review(request, RULES)
        spec = _spec(body)
        namespace = str(spec.get("namespace") or "")
        if not namespace:
            raise _invalid(
                "SelfSubjectRulesReview",
                "authorization.k8s.io",
                "spec.namespace",
                "Required value",
            )
        resource_rules, url_rules, problems = authorizer.rules(identity, namespace)
        body["status"] = {
            "resourceRules": resource_rules,
            "nonResourceRules": url_rules,
            "incomplete": bool(problems),
        }
        if problems:
            body["status"]["evaluationError"] = "; ".join(problems)
        return media.respond(request, RULES, body, 201)

    async def who_am_i(request: Request) -> Response:
        body, identity = await _review(request, WHOAMI)
        body["status"] = {"userInfo": identity.user_info()}
        return media.respond(request, WHOAMI, body, 201)

    return [
        _create_only(ACCESS, access_review),
        _create_only(RULES, rules_review),
        _create_only(WHOAMI, who_am_i),
    ]


def _create_only(rt: ResourceType, create: Endpoint) -> Route:
    """POST creates; any other method is the real server's 405 for a create-only kind."""

    async def endpoint(request: Request) -> Response:
        if request.method != "POST":
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource",
                group=rt.group,
                kind=rt.plural,
            )
        return await create(request)

    return Route(path(rt), endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
