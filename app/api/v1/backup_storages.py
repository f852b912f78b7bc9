"""`/api/v1/backup-storages`: where databases' backups go (issue 16). Admin keys only.

A storage is addressed by its name (it is the name of its cluster objects). Credentials are
write-only: taken on create and change, stored encrypted, never answered (`has_credentials`
says whether there are some). Provider rules (a bucket and credentials for s3, gcs and azure)
are the domain's, answered 422 naming the field; 409 for a taken name, and for a delete of a
storage live databases use (or of the default while others exist).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from app.api import auth, deps, errors
from app.api.v1 import fields
from app.domain import clock
from app.domain.backup_storages import BackupStorage, StorageProvider

router = APIRouter(
    prefix="/api/v1/backup-storages",
    tags=["backup-storages"],
    responses=errors.error_responses(400, 401, 403, 429),
)

StorageName = Annotated[str, Path(min_length=1, max_length=63, description="the storage's name")]
MAX_PAGE = 1_000_000

Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"),
    Field(description="a DNS label: the name of its KubeStash BackupStorage"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]*$", max_length=255)]
Endpoint = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class Credentials(fields.RequestBody):
    """Write-only. s3: access_key_id and secret_access_key; gcs: project_id and
    service_account_json; azure: storage_account and account_key; local: none."""

    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    project_id: Secret | None = None
    service_account_json: Secret | None = None
    storage_account: Secret | None = None
    account_key: Secret | None = None

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class CreateBackupStorage(fields.RequestBody):
    name: Name
    provider: StorageProvider = Field(strict=False)
    bucket: Text | None = Field(default=None, description="the bucket (azure: the container)")
    prefix: Prefix = ""
    region: Text | None = None
    endpoint: Endpoint | None = Field(default=None, description="an S3-compatible server")
    credentials: Credentials | None = None
    default: bool = Field(default=False, description="the storage of databases naming none")


class UpdateBackupStorage(fields.RequestBody):
    bucket: Text | None = None
    prefix: Prefix | None = None
    region: Text | None = None
    endpoint: Endpoint | None = None
    credentials: Credentials | None = Field(default=None, description="replaces them all")
    default: bool | None = Field(default=None, description="true: make it the default")


class BackupStorageOut(BaseModel):
    id: str
    name: str
    provider: StorageProvider
    bucket: str | None
    prefix: str
    region: str | None
    endpoint: str | None
    path: str | None = Field(description="local: the directory on the control plane's machine")
    default: bool
    has_credentials: bool
    created_at: clock.Timestamp
    updated_at: clock.Timestamp

    @classmethod
    def of(cls, s: BackupStorage) -> BackupStorageOut:
        return cls(
            id=s.id,
            name=s.name,
            provider=s.provider,
            bucket=s.bucket,
            prefix=s.prefix,
            region=s.region,
            endpoint=s.endpoint,
            path=s.path,
            default=s.is_default,
            has_credentials=s.has_credentials,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class BackupStoragePage(BaseModel):
    backup_storages: list[BackupStorageOut]
    total: int
    page: int
    page_size: int


_ERRORS = errors.error_responses(
    404,
    409,
    422,
    s409="the name is taken, or databases use it, or it is the default",
    s422="a provider rule is broken (the field is named)",
)


@router.post(
    "",
    status_code=201,
    response_model=BackupStorageOut,
    summary="Register a backup storage",
    responses=_ERRORS,
)
@router.post("/", status_code=201, response_model=BackupStorageOut, include_in_schema=False)
async def create_backup_storage(
    body: CreateBackupStorage,
    caller: auth.Admin,
    service: deps.BackupStorages,
    response: Response,
) -> BackupStorageOut:
    created = await service.create(
        name=body.name,
        provider=body.provider,
        bucket=body.bucket,
        prefix=body.prefix,
        region=body.region,
        endpoint=body.endpoint,
        credentials=body.credentials.given() if body.credentials is not None else None,
        default=body.default,
    )
    response.headers["Location"] = f"/api/v1/backup-storages/{created.name}"
    return BackupStorageOut.of(created)


@router.get("", response_model=BackupStoragePage, summary="Backup storages, newest first")
@router.get("/", response_model=BackupStoragePage, include_in_schema=False)
async def list_backup_storages(
    caller: auth.Admin,
    service: deps.BackupStorages,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BackupStoragePage:
    result = await service.page(offset=(page - 1) * page_size, limit=page_size)
    return BackupStoragePage(
        backup_storages=[BackupStorageOut.of(s) for s in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/{storage_name}",
    response_model=BackupStorageOut,
    summary="One backup storage",
    responses=_ERRORS,
)
async def get_backup_storage(
    storage_name: StorageName, caller: auth.Admin, service: deps.BackupStorages
) -> BackupStorageOut:
    return BackupStorageOut.of(await service.get(storage_name))


@router.patch(
    "/{storage_name}",
    response_model=BackupStorageOut,
    summary="Change a backup storage",
    responses=_ERRORS,
)
async def update_backup_storage(
    storage_name: StorageName,
    body: UpdateBackupStorage,
    caller: auth.Admin,
    service: deps.BackupStorages,
) -> BackupStorageOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k in ("prefix", "default")]
    if nulls:
        raise errors.ValidationFailed({k: "may not be null" for k in nulls})
    if body.credentials is not None:
        changes["credentials"] = body.credentials.given()
    return BackupStorageOut.of(await service.update(storage_name, changes))


@router.delete(
    "/{storage_name}",
    status_code=204,
    summary="Remove a backup storage",
    responses=_ERRORS,
)
async def delete_backup_storage(
    storage_name: StorageName, caller: auth.Admin, service: deps.BackupStorages
) -> Response:
    await service.delete(storage_name)
    return Response(status_code=204)
