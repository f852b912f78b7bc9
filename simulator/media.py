"""Content negotiation for resource bodies: what a POST or PUT body is written in (JSON, YAML
or Kubernetes protobuf) and what an answer is written in (protobuf when the client asks for
it and the kind has a protobuf form, JSON otherwise).

Protobuf is offered for the built-in kinds of `protoschema.KINDS` and the self reviews of
`protoschema.GROUPED`, as kube-apiserver offers it for every built-in kind and never for
custom resources (a protobuf body for a custom resource is a 415). Routes call `read_body`
and `respond`; the rules live here.
"""

from __future__ import annotations

from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from simulator import errors, protowire, wire
from simulator.objects import Obj
from simulator.registry import ResourceType

YAML = "application/yaml"
_YAML_ALIASES = (YAML, "application/x-yaml", "text/yaml")


def _media(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def speaks_protobuf(rt: ResourceType) -> bool:
    return protowire.message_for(rt.api_version, rt.kind) is not None


def _unsupported(rt: ResourceType) -> errors.UnsupportedMediaType:
    accepted = [wire.JSON, YAML] + ([protowire.MEDIA_TYPE] if speaks_protobuf(rt) else [])
    return errors.UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(accepted)}"
    )


async def read_body(request: Request, rt: ResourceType) -> Any:
    """The object of a POST or PUT body, in whichever format its Content-Type names."""
    media = _media(request.headers.get("content-type")) or wire.JSON
    body = await request.body()
    if not body:
        raise errors.BadRequest("the request body is empty")
    if media == protowire.MEDIA_TYPE:
        if not speaks_protobuf(rt):
            raise _unsupported(rt)
        return protowire.decode(body, api_version=rt.api_version, kind=rt.kind)
    if media in _YAML_ALIASES:
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise errors.BadRequest(f"the request body is not valid YAML: {exc}") from exc
    if media in (wire.JSON, "*/*") or media.endswith("+json"):
        return wire.parse_json(body)
    raise _unsupported(rt)


def wants_protobuf(request: Request, rt: ResourceType) -> bool:
    accept = request.headers.get("accept") or ""
    return protowire.MEDIA_TYPE in accept and speaks_protobuf(rt)


def respond(request: Request, rt: ResourceType, obj: Obj, status: int = 200) -> Response:
    """`obj` in protobuf if the client asked for it and it can be written so, else JSON."""
    if wants_protobuf(request, rt):
        try:
            return Response(
                protowire.encode(obj), status_code=status, media_type=protowire.MEDIA_TYPE
            )
        except protowire.Unrepresentable:
            pass  # a field outside the protobuf table: JSON, which every client accepts
    return wire.json_response(obj, status)


def respond_list(request: Request, rt: ResourceType, items: list[Obj], metadata: Obj) -> Response:
    """A `<Kind>List` in protobuf (the caller checked `wants_protobuf`), or JSON if an item
    cannot be written so."""
    body = {"apiVersion": rt.api_version, "kind": rt.list_kind, "metadata": metadata}
    try:
        encoded = protowire.encode({**body, "items": items})
    except protowire.Unrepresentable:
        return wire.json_response({**body, "items": items})
    return Response(encoded, media_type=protowire.MEDIA_TYPE)
