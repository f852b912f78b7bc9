"""Every Kubernetes failure maps to one class of the cluster error tree, and the engine's
temporary/permanent split follows it."""

from __future__ import annotations

import pytest

from app.cluster import errors
from simulator import errors as k8s

EXPECTED: dict[type[k8s.ApiError], type[errors.ClusterError]] = {
    k8s.BadRequest: errors.BadRequest,
    k8s.Unauthorized: errors.Unauthorized,
    k8s.Forbidden: errors.Forbidden,
    k8s.NotFound: errors.NotFound,
    k8s.MethodNotAllowed: errors.BadRequest,
    k8s.AlreadyExists: errors.AlreadyExists,
    k8s.Conflict: errors.Conflict,
    k8s.Gone: errors.Expired,
    k8s.Expired: errors.Expired,
    k8s.UnsupportedMediaType: errors.BadRequest,
    k8s.Invalid: errors.Invalid,
    k8s.TooManyRequests: errors.Unavailable,
    k8s.InternalError: errors.Unavailable,
    k8s.StorageError: errors.Unavailable,
    k8s.ServiceUnavailable: errors.Unavailable,
    k8s.Timeout: errors.Unavailable,
}


def test_the_map_covers_every_status_reason_the_api_server_answers() -> None:
    assert set(EXPECTED) == set(k8s.ApiError.__subclasses__())


@pytest.mark.parametrize(("k8s_error", "ours"), list(EXPECTED.items()))
def test_a_status_becomes_its_cluster_error(
    k8s_error: type[k8s.ApiError], ours: type[errors.ClusterError]
) -> None:
    status = k8s_error("the message").to_status()

    error = errors.from_status(status["code"], status)

    assert type(error) is ours
    assert error.message == "the message" and error.code == status["code"]


def test_an_unknown_reason_falls_back_on_the_code() -> None:
    assert type(errors.from_status(503, {"reason": "SomethingNew"})) is errors.Unavailable
    assert type(errors.from_status(409, None)) is errors.Conflict
    assert type(errors.from_status(404, None)) is errors.NotFound
    assert type(errors.from_status(418, None)) is errors.ClusterError


def test_invalid_keeps_the_causes_and_throttling_keeps_retry_after() -> None:
    status = k8s.Invalid("bad", causes=[k8s.Cause("spec.replicas", "too many")]).to_status()

    invalid = errors.from_status(422, status)
    throttled = errors.from_status(429, {"reason": "TooManyRequests"}, retry_after="7")

    assert isinstance(invalid, errors.Invalid)
    assert invalid.causes == [
        {"reason": "FieldValueInvalid", "message": "too many", "field": "spec.replicas"}
    ]
    assert isinstance(throttled, errors.Unavailable) and throttled.retry_after == 7.0


def test_only_unavailable_and_conflict_are_temporary() -> None:
    temporary = {cls for cls in set(EXPECTED.values()) if issubclass(cls, errors.TEMPORARY)}

    assert temporary == {errors.Unavailable, errors.Conflict}


def test_a_missing_namespace_is_a_permanent_step_error_that_names_it() -> None:
    from app.engine import steps
    from app.services.handlers.cluster_errors import translated

    status = k8s.NotFound(
        'namespaces "acme-shop" not found', name="acme-shop", kind="namespaces"
    ).to_status()
    error = errors.from_status(404, status)

    assert isinstance(error, errors.NotFound) and error.namespace_gone
    gone = pytest.raises(steps.PermanentError, match="namespace acme-shop is gone")
    with gone, translated("creating PostgresOpsRequest acme-shop/x"):
        raise error
    other = errors.from_status(404, k8s.NotFound("x", name="x", kind="secrets").to_status())
    with pytest.raises(errors.NotFound), translated("reading Secret acme-shop/x"):
        raise other
