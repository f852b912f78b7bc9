"""Query filters shared by the database lists: parsed strictly at the edge, so that what
reaches the store is a value it can run (a malformed label selector was a 500, a NUL in
one a 503 naming the store)."""

from __future__ import annotations

from app.api.errors import ValidationFailed
from app.domain import errors as domain_errors
from app.domain import validation

# `prefix/name=value`: a 253-character prefix, a 63-character name and value.
LABEL_SELECTOR_MAX = 253 + 1 + 63 + 1 + 63
LABEL_SELECTOR_HELP = "key=value, by Kubernetes' label rules, as in team=web"


def label_selector(value: str | None) -> tuple[str, str] | None:
    """The `label` query parameter as (key, value), or a 422 naming `query.label`."""
    if value is None:
        return None
    try:
        return validation.check_label_selector(value, field="query.label")
    except domain_errors.InvalidValue as exc:
        raise ValidationFailed({"query.label": exc.message}) from exc
