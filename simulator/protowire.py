"""Kubernetes protobuf bodies: the `k8s\\x00` magic, the `runtime.Unknown` envelope that
names the kind, and the kind's message, to and from the JSON dicts the store keeps.

kubectl's typed clients (`kubectl create namespace|secret|configmap|serviceaccount|role|...`,
`describe`) send built-in kinds in protobuf and ask for protobuf answers. The messages come from
`protoschema`; this module turns them into the JSON a real server would store (Go's
`omitempty` included: a zero value the Go side always marshals is dropped unless the field
keeps zeros) and back. An object with a field outside the table cannot be written
faithfully: `encode` raises `Unrepresentable` and the caller answers in JSON instead, which
every Kubernetes client also accepts. Nothing here knows HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError, Message

from simulator import errors
from simulator.objects import Obj
from simulator.protoschema import CLASSES, FIELDS, GROUPED, KINDS, SPECIAL, Field

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_SKIP = object()


class Unrepresentable(Exception):
    """The object has a field (or a value) the protobuf table cannot carry."""


def message_for(api_version: str, kind: str) -> str | None:
    """The message name of a kind (or its list) served in protobuf, or None."""
    if KINDS.get(kind.removesuffix("List")) == api_version:
        return kind
    return GROUPED.get((api_version, kind))


# --- decoding: bytes -> JSON dict ------------------------------------------------------------


def decode(body: bytes, *, api_version: str, kind: str) -> Obj:
    """The object of a protobuf request body; the envelope's kind wins over the URL's."""
    if not body.startswith(MAGIC):
        raise errors.BadRequest("the protobuf body does not start with the k8s magic number")
    envelope = CLASSES["Unknown"]()
    try:
        envelope.ParseFromString(body[len(MAGIC) :])
        api_version = envelope.typeMeta.apiVersion or api_version  # type: ignore[attr-defined]
        kind = envelope.typeMeta.kind or kind  # type: ignore[attr-defined]
        name = message_for(api_version, kind)
        if name is None:
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - {api_version}, Kind={kind} "
                "has no protobuf encoding here; accepted media types include: "
                "application/json, application/yaml"
            )
        message = CLASSES[name]()
        message.ParseFromString(envelope.raw)  # type: ignore[attr-defined]
    except DecodeError as exc:
        raise errors.BadRequest(f"the protobuf body could not be decoded: {exc}") from exc
    obj: Obj = {"apiVersion": api_version, "kind": kind}
    obj.update(_message_to_json(message, name))
    return obj


def _message_to_json(message: Message, name: str) -> Any:
    if name in SPECIAL:
        return _special_to_json(message, name)
    out: dict[str, Any] = {}
    for field in FIELDS[name]:
        value = _field_to_json(message, field)
        if value is _SKIP:
            continue
        if field.inline:
            out.update(value)
        else:
            out[field.json] = value
    return out


def _field_to_json(message: Message, field: Field) -> Any:
    raw = getattr(message, field.json)
    if field.is_map:
        if not raw:
            return _SKIP
        if field.type == "map<bytes>":
            return {k: base64.b64encode(v).decode() for k, v in raw.items()}
        if field.type == "map<Quantity>":
            return {k: v.string for k, v in raw.items()}
        return dict(raw)
    if field.repeated:
        if not raw:
            return _SKIP
        if field.is_message:
            return [_message_to_json(item, field.type) for item in raw]
        return list(raw)
    if not message.HasField(field.json):
        return _SKIP
    if field.is_message:
        value = _message_to_json(raw, field.type)
        return _SKIP if value is None else value
    if not raw and not field.keep_zero:
        return _SKIP
    return base64.b64encode(raw).decode() if field.type == "bytes" else raw


def _special_to_json(message: Any, name: str) -> Any:
    if name in ("Time", "MicroTime"):
        if not message.seconds and not message.nanos:
            return None
        moment = datetime.fromtimestamp(message.seconds, UTC)
        if name == "Time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{message.nanos // 1000:06d}Z"
    if name == "Quantity":
        return message.string
    if name == "IntOrString":
        return message.strVal if message.type == 1 else message.intVal
    return json.loads(message.Raw) if message.Raw else {}  # FieldsV1


# --- encoding: JSON dict -> bytes ------------------------------------------------------------


def encode(obj: Obj) -> bytes:
    """An object (or a `<Kind>List`) as a protobuf body; `Unrepresentable` if it cannot be."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    name = message_for(api_version, kind)
    if name is None:
        raise Unrepresentable(f"{api_version} {kind} has no protobuf encoding")
    message = CLASSES[name]()
    _fill(message, name, {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}, "")
    envelope = CLASSES["Unknown"]()
    envelope.typeMeta.apiVersion = api_version  # type: ignore[attr-defined]
    envelope.typeMeta.kind = kind  # type: ignore[attr-defined]
    envelope.raw = message.SerializeToString()  # type: ignore[attr-defined]
    envelope.contentEncoding = ""  # type: ignore[attr-defined]
    envelope.contentType = ""  # type: ignore[attr-defined]
    return MAGIC + envelope.SerializeToString()


def _fill(message: Any, name: str, value: Any, path: str) -> None:
    if name in SPECIAL:
        _special_from_json(message, name, value, path)
        return
    if not isinstance(value, dict):
        raise Unrepresentable(f"{path or '.'}: expected an object")
    remaining = {k: v for k, v in value.items() if v is not None}
    if name in KINDS:  # list items carry their type in JSON, not in protobuf
        remaining.pop("apiVersion", None)
        remaining.pop("kind", None)
    for field in FIELDS[name]:
        if field.inline:
            own = {f.json for f in FIELDS[field.type]}
            part = {k: remaining.pop(k) for k in list(remaining) if k in own}
            if part:
                _fill(getattr(message, field.json), field.type, part, path)
        elif field.json in remaining:
            _set(message, field, remaining.pop(field.json), f"{path}.{field.json}")
    if remaining:
        raise Unrepresentable(f"{path}.{sorted(remaining)[0]}: not in the protobuf table")


def _set(message: Any, field: Field, value: Any, path: str) -> None:
    try:
        if field.is_map:
            _set_map(getattr(message, field.json), field, value, path)
        elif field.repeated:
            if not isinstance(value, list):
                raise Unrepresentable(f"{path}: expected a list")
            target = getattr(message, field.json)
            for i, item in enumerate(value):
                if field.is_message:
                    _fill(target.add(), field.type, item, f"{path}[{i}]")
                else:
                    target.append(_scalar(item, field.type, path))
        elif field.is_message:
            sub = getattr(message, field.json)
            sub.SetInParent()
            _fill(sub, field.type, value, path)
        else:
            setattr(message, field.json, _scalar(value, field.type, path))
    except (TypeError, ValueError) as exc:
        raise Unrepresentable(f"{path}: {exc}") from exc


def _set_map(target: Any, field: Field, value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise Unrepresentable(f"{path}: expected a map")
    for key, item in value.items():
        if field.type == "map<Quantity>":
            target[key].string = str(item)
        elif field.type == "map<bytes>":
            target[key] = _scalar(item, "bytes", f"{path}.{key}")
        else:
            target[key] = _scalar(item, "string", f"{path}.{key}")


def _scalar(value: Any, kind: str, path: str) -> Any:
    if kind == "bytes":
        try:
            return base64.b64decode(str(value), validate=True)
        except binascii.Error as exc:
            raise Unrepresentable(f"{path}: not base64") from exc
    expected: type | tuple[type, ...] = {"string": str, "bool": bool}.get(kind, int)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise Unrepresentable(f"{path}: {value!r} is not a {kind}")
    return value


def _special_from_json(message: Any, name: str, value: Any, path: str) -> None:
    if name in ("Time", "MicroTime"):
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise Unrepresentable(f"{path}: {value!r} is not a timestamp") from exc
        message.seconds = int(moment.timestamp())
        message.nanos = moment.microsecond * 1000
    elif name == "Quantity":
        message.string = str(value)
    elif name == "IntOrString":
        if isinstance(value, int) and not isinstance(value, bool):
            message.type, message.intVal = 0, value
        elif isinstance(value, str):
            message.type, message.strVal = 1, value
        else:
            raise Unrepresentable(f"{path}: {value!r} is neither an integer nor a string")
    else:  # FieldsV1
        message.Raw = json.dumps(value, separators=(",", ":")).encode()
