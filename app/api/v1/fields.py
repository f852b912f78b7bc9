"""Field rules shared by the request bodies: the domain's checks as pydantic validators, so
that a bad value is a 422 naming the field, with the domain's own message."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from app.domain import errors as domain_errors
from app.domain import validation


def dns_label(value: str | None) -> str | None:
    """None, or a DNS-1123 label (a domain or a project)."""
    if value is None:
        return None
    try:
        return validation.check_dns_label(value, field="tenant")
    except domain_errors.InvalidValue as exc:
        raise PydanticCustomError(exc.code, "{reason}", {"reason": exc.message}) from None


# C0 controls and DEL and C1 controls; tab, line feed and carriage return are text (a
# kubeconfig is YAML, an annotation may hold several lines).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control_characters(value: Any) -> None:
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise PydanticCustomError(
                "control_character", "control characters (such as NUL) are not allowed"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_control_characters(key)
            _no_control_characters(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_control_characters(item)


class RequestBody(BaseModel):
    """The base of every request body: unknown fields refused, strict types (a string is not
    a number, a boolean is not a count: JSON's own types, no coercion; an enum field says
    `Field(strict=False)` to take its JSON string), and no control characters in any string,
    key included (a NUL reached the file system as a 500)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        _no_control_characters(value)
        return value
