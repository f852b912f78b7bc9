"""Field rules shared by the request bodies: the domain's checks as pydantic validators, so
that a bad value is a 422 naming the field, with the domain's own message."""

from __future__ import annotations

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
