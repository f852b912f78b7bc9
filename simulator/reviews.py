"""The self reviews: create-only kinds that are answered, never stored.

- `SelfSubjectAccessReview` (authorization.k8s.io/v1): may I do this? (`kubectl auth can-i`)
- `SelfSubjectRulesReview` (authorization.k8s.io/v1): what may I do in this namespace?
  (`kubectl auth can-i --list`)
- `SelfSubjectReview` (authentication.k8s.io/v1): who am I? (`kubectl auth whoami`)

Each answers for the identity `access` put on the request, with the same `rbac` decision the
request path uses. Creating one is itself authorized (`system:basic-user` grants it).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator import errors, wire
from simulator.rbac import Authorizer, Identity
from simulator.requestinfo import Attributes

AUTHORIZATION = "/apis/authorization.k8s.io/v1"
AUTHENTICATION = "/apis/authentication.k8s.io/v1"


async def _review(request: Request, kind: str, group: str) -> tuple[dict[str, Any], Identity]:
    body = await wire.read_json(request)
    if not isinstance(body, dict) or body.get("kind", kind) != kind:
        raise errors.BadRequest(f"the request body must be a {kind}")
    identity = request.scope.get("user")
    if not isinstance(identity, Identity):
        raise errors.InternalError("the request has no identity")
    body["apiVersion"] = f"{group}/v1"
    body["kind"] = kind
    body["metadata"] = {"creationTimestamp": None}
    return body, identity


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
        body, identity = await _review(request, "SelfSubjectAccessReview", "authorization.k8s.io")
        spec = _spec(body)
        decision = authorizer.decide(identity, _attributes(spec))
        status: dict[str, Any] = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        body["status"] = status
        return wire.json_response(body, 201)

    async def rules_review(request: Request) -> Response:
        body, identity = await _review(request, "SelfSubjectRulesReview", "authorization.k8s.io")
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
        return wire.json_response(body, 201)

    async def who_am_i(request: Request) -> Response:
        body, identity = await _review(request, "SelfSubjectReview", "authentication.k8s.io")
        body["status"] = {"userInfo": identity.user_info()}
        return wire.json_response(body, 201)

    return [
        Route(f"{AUTHORIZATION}/selfsubjectaccessreviews", access_review, methods=["POST"]),
        Route(f"{AUTHORIZATION}/selfsubjectrulesreviews", rules_review, methods=["POST"]),
        Route(f"{AUTHENTICATION}/selfsubjectreviews", who_am_i, methods=["POST"]),
    ]
