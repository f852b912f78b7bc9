"""Cluster errors as step errors: the one place a handler's cluster failure is classified.

    errors.TEMPORARY (Unavailable: 5xx, 429, timeouts; Conflict)  -> steps.TemporaryError
                                                 (retry_after from the 429's Retry-After)
    Invalid, Forbidden, Unauthorized, BadRequest -> steps.PermanentError with the cluster's
                                                 message (a webhook denial reads as it was)
    Expired, anything else unexpected            -> steps.TemporaryError

NotFound of the namespace itself                -> steps.PermanentError naming it: the
                                                 database's namespace was deleted outside
                                                 the platform; no retry brings it back

Any other `NotFound` and `AlreadyExists` pass through untouched: what they mean depends on the call
(gone is success for a delete; AlreadyExists is done for a create with a deterministic
name), so the caller catches them inside the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.cluster import errors
from app.engine import steps

PERMANENT: tuple[type[errors.ClusterError], ...] = (
    errors.Invalid,
    errors.Forbidden,
    errors.Unauthorized,
    errors.BadRequest,
)


def as_step_error(exc: errors.ClusterError, action: str) -> steps.StepError:
    if isinstance(exc, errors.NotFound) and exc.namespace_gone:
        return steps.PermanentError(
            f"{action}: namespace {exc.name} is gone (deleted outside the platform); "
            "the database's objects went with it. Delete the database to release its name"
        )
    if isinstance(exc, errors.TEMPORARY):
        retry_after = exc.retry_after if isinstance(exc, errors.Unavailable) else None
        return steps.TemporaryError(f"{action}: {exc.message}", retry_after=retry_after)
    if isinstance(exc, PERMANENT):
        return steps.PermanentError(f"{action}: {exc.message}")
    return steps.TemporaryError(f"{action}: {exc.message}")


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run cluster calls; raise their failures as step errors (`action` says what failed)."""
    try:
        yield
    except errors.NotFound as exc:
        if exc.namespace_gone:
            raise as_step_error(exc, action) from exc
        raise
    except errors.AlreadyExists:
        raise
    except errors.ClusterError as exc:
        raise as_step_error(exc, action) from exc
