"""The one root of the service layer's errors, and the tree it roots.

A service error carries its HTTP meaning as data: the class's `status`, and the instance's
`code`, `message`, `details` (and `headers`, for a `Retry-After`). The API renders any of
them with one exception handler (`app.api.errors`) and no per-route translation: a
subclass without a status of its own answers its parent's. The leaves live beside the use
case that raises them (their modules are named on the right); each status is one of
`STATUSES`, and a test checks the tree below against the classes, status by status.

    ServiceError              500 internal_error: the root, never raised itself
    ├── DatabaseError         400 code per instance                        databases
    │   ├── NotFound          404 not_found
    │   ├── Gone              410 database_deleted: it existed, and is deleted
    │   ├── Conflict          409 duplicate_name, operation_in_progress, deletion_protected,
    │   │                         not_ready, database_<status>
    │   ├── RuleViolated      422 the rule's code, the field in details.fields
    │   ├── OverQuota         429 quota_exceeded: the limit, its usage, what was asked
    │   └── Unavailable       503 cluster_unavailable, catalog_unavailable
    ├── QuotaExceeded         429 quota_exceeded                           quotas
    ├── CatalogUnavailable    503 cluster_unavailable                      catalog
    ├── ClusterUnavailable    503 cluster_unavailable                      clusters
    ├── ProviderError         422 provider_unreachable                     providers
    │   ├── ProviderNotFound  404 not_found
    │   ├── ProviderNameTaken 409 provider_name_taken
    │   ├── ProviderInUse     409 provider_in_use: details.databases
    │   ├── ProviderUnreachable 422 provider_unreachable
    │   ├── InvalidKubeconfig 422 validation_error: details.fields.kubeconfig_content
    │   └── EncryptionUnavailable 422 validation_error, as InvalidKubeconfig
    ├── BackupStorageError    422 validation_error                         backup_storages
    │   ├── BackupStorageNotFound 404 not_found: no such storage, or no default
    │   ├── BackupStorageNameTaken 409 backup_storage_name_taken
    │   ├── BackupStorageInUse 409 backup_storage_in_use: details.databases
    │   ├── BackupStorageIsDefault 409 backup_storage_is_default
    │   ├── InvalidBackupStorage 422 validation_error: details.fields, the field named
    │   └── BackupStorageUnusable 422 backup_storage_unusable: credentials unreadable
    ├── ApiKeyError           401 unauthorized                             api_keys
    │   ├── AuthenticationFailed 401 unauthorized: the token is malformed, unknown,
    │   │                         wrong or revoked (the reason is logged, not answered)
    │   └── ApiKeyNotFound    404 not_found
    ├── OperationNotFound     404 not_found                                operations
    ├── OperationNotCancellable 409 operation_not_cancellable: details.status
    ├── KeyReused             422 idempotency_key_reused                   idempotency
    ├── StillRunning          409 idempotency_key_in_progress
    └── RateLimited           429 rate_limited: details.retry_after, Retry-After header

Foreign errors do not pass through a service dressed as its own: a store's `NotFound` a
route would see is turned into the service's leaf where the service reads the record. The
store's and Redis's "down" errors are not service errors: the API boundary answers them
503 `dependency_unavailable` (and the store's `InvalidQuery` 422 `invalid_query`), wherever
they are raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

# Every status a service error may answer, with what it means to the client.
STATUSES: Mapping[int, str] = {
    400: "the request is malformed",
    401: "no valid API key",
    404: "not found (also for another tenant's objects)",
    409: "conflicts with the current state",
    410: "it existed, and is deleted",
    422: "the request is not valid",
    429: "a quota or rate limit is reached",
    503: "a dependency (the cluster, its catalog) is down",
}


class ServiceError(Exception):
    """An error a use case decided on, with the HTTP answer it means."""

    status: ClassVar[int] = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = dict(details or {})
        self.headers = dict(headers or {})
