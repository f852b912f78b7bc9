"""Backup storages: create, read, change and remove where backups go, keep one default, and
hand the backup operations a storage with its credentials (`resolve`).

Credentials are stored encrypted (`app.encryption`, the key that encrypts kubeconfigs) and
never returned, logged or put in an error: `resolve` is the one way out, decrypted into the
keys of the KubeStash backend Secret. A `local` storage's directory is chosen here, never by
a client: BACKUP_LOCAL_DIR/<name>, made 0700 (docs/architecture.md, decision 63). The first
storage becomes the default; making another the default unsets the old one (the store keeps
at most one). A storage that live databases use, by name or as the default they name none
of, is not deleted.

Errors (a branch of the service tree, `app.services.errors`, which gives their answers):

    BackupStorageError
    ├── BackupStorageNotFound     no such storage (or no default)
    ├── BackupStorageNameTaken    another storage has the name
    ├── BackupStorageInUse        live databases use it (with how many)
    ├── BackupStorageIsDefault    the default, while other storages exist
    ├── InvalidBackupStorage      a provider rule broken (the field named)
    └── BackupStorageUnusable     its credentials cannot be decrypted with this key
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.domain import backup_storages as domain
from app.domain import clock
from app.domain import errors as domain_errors
from app.domain.backup_storages import BackupStorage, StorageProvider
from app.encryption import Cipher, DecryptionFailed
from app.observability.log import get_logger
from app.services.errors import ServiceError
from app.store import errors as store_errors
from app.store.protocols import Page, Store

log = get_logger(__name__)

# Fields `update` changes as they are; `credentials` and `default` have their own paths.
PLAIN_FIELDS = ("bucket", "prefix", "region", "endpoint")
# Where the backups are: fixed while databases back up there or backups are kept there
# (the region and the endpoint may be corrected: the same bucket, reached differently).
_LOCATION = ("bucket", "prefix")
# Attempts at a conditional delete while the record keeps changing under it.
_DELETE_ATTEMPTS = 5


class BackupStorageError(ServiceError):
    status = 422
    code = "validation_error"


class BackupStorageNotFound(BackupStorageError):
    status = 404
    code = "not_found"


class BackupStorageNameTaken(BackupStorageError):
    status = 409
    code = "backup_storage_name_taken"


class BackupStorageInUse(BackupStorageError):
    status = 409
    code = "backup_storage_in_use"

    def __init__(
        self, name: str, databases: int, backups: int = 0, *, moved: Sequence[str] = ()
    ) -> None:
        what = f"{databases} live database(s)" if databases else f"{backups} kept backup(s)"
        if moved:
            told = (
                f"backup storage {name} is used by {what}: its {' and '.join(moved)} cannot "
                "change (what is kept there would be lost); create another storage instead"
            )
        else:
            told = (
                f"backup storage {name} is used by {what}; move the databases to another "
                "storage, or delete them and their backups, first"
            )
        details: dict[str, Any] = {"databases": databases, "backups": backups}
        if moved:
            details["fields"] = list(moved)
        super().__init__(told, details=details)
        self.databases = databases
        self.backups = backups


class BackupStorageIsDefault(BackupStorageError):
    status = 409
    code = "backup_storage_is_default"


class InvalidBackupStorage(BackupStorageError):
    """A field error: answered as the API's `validation_error`, the field in details."""

    code = "validation_error"

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message, details={"fields": {field_name: message}})
        self.message = f"{field_name}: {message}"
        self.field = field_name


class BackupStorageUnusable(BackupStorageError):
    code = "backup_storage_unusable"


@dataclass(frozen=True, slots=True)
class ResolvedStorage:
    """A storage as the backup operations use it: the record, and the data of its KubeStash
    backend Secret (`<name>-backend`; empty for `local`), decrypted. Never logged: the
    credentials are left out of its repr."""

    storage: BackupStorage
    credentials: Mapping[str, str] = field(repr=False)

    @property
    def secret_name(self) -> str | None:
        return domain.backend_secret_name(self.storage) if self.credentials else None


def _invalid(exc: domain_errors.InvalidValue) -> InvalidBackupStorage:
    return InvalidBackupStorage(exc.field, exc.message)


class BackupStorageService:
    def __init__(self, store: Store, *, cipher: Cipher | None, local_dir: Path) -> None:
        self._store = store
        self._cipher = cipher
        self._local_dir = local_dir

    # --- reading -----------------------------------------------------------------------

    async def get(self, name: str) -> BackupStorage:
        storage = await self._store.backup_storages.get_by_name(name)
        if storage is None:
            raise BackupStorageNotFound(f"backup storage {name} not found")
        return storage

    async def page(self, *, offset: int, limit: int) -> Page[BackupStorage]:
        return await self._store.backup_storages.list(offset=offset, limit=limit)

    async def resolve(self, name: str | None) -> ResolvedStorage:
        """The storage named `name`, or the default when None, with its credentials."""
        if name is None:
            storage = await self._store.backup_storages.get_default()
            if storage is None:
                raise BackupStorageNotFound("there is no default backup storage")
        else:
            storage = await self.get(name)
        credentials = self._decrypt(storage)
        data = domain.secret_data(storage.provider, credentials, endpoint=storage.endpoint)
        return ResolvedStorage(storage=storage, credentials=data)

    # --- writing -----------------------------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        provider: StorageProvider,
        bucket: str | None = None,
        prefix: str = "",
        region: str | None = None,
        endpoint: str | None = None,
        credentials: Mapping[str, str] | None = None,
        default: bool = False,
    ) -> BackupStorage:
        try:
            domain.check_name(name)
            domain.check_location(provider, bucket=bucket)
            checked = domain.check_credentials(provider, credentials)
        except domain_errors.InvalidValue as exc:
            raise _invalid(exc) from None
        path = None
        if provider is StorageProvider.LOCAL:
            path = str(await asyncio.to_thread(self._make_local_dir, name))
        storage = BackupStorage(
            name=name,
            provider=provider,
            bucket=bucket,
            prefix=prefix,
            region=region,
            endpoint=endpoint,
            path=path,
            credentials_encrypted=self._encrypt(checked),
        )
        try:
            created = await self._store.backup_storages.insert(storage)
        except store_errors.NameTaken:
            raise BackupStorageNameTaken(f"a backup storage named {name} exists") from None
        log.info("backup_storage_created", storage=created.name, provider=provider.value)
        if default or await self._store.backup_storages.get_default() is None:
            created = await self._make_default(created)
        return created

    async def update(self, name: str, changes: Mapping[str, Any]) -> BackupStorage:
        """Apply `changes` (PLAIN_FIELDS, `credentials`, `default`); the provider and the
        name are what the storage is and do not change."""
        current = await self.get(name)
        values = {k: changes[k] for k in PLAIN_FIELDS if k in changes}
        moved = [k for k in _LOCATION if k in values and values[k] != getattr(current, k)]
        if moved:
            using, kept = await self._usage(current)
            if using or kept:
                raise BackupStorageInUse(name, using, kept, moved=moved)
        try:
            if "bucket" in values:
                domain.check_location(current.provider, bucket=values["bucket"])
            if "credentials" in changes:
                checked = domain.check_credentials(current.provider, changes["credentials"])
                values["credentials_encrypted"] = self._encrypt(checked)
        except domain_errors.InvalidValue as exc:
            raise _invalid(exc) from None
        if changes.get("default") is False and current.is_default:
            raise InvalidBackupStorage(
                "default", "make another storage the default instead: there is always one"
            )
        updated = current
        if values:
            values["updated_at"] = clock.utcnow()
            try:
                updated = await self._store.backup_storages.update_fields(current.id, values)
            except store_errors.NotFound:
                raise BackupStorageNotFound(f"backup storage {name} not found") from None
        if changes.get("default") is True and not current.is_default:
            updated = await self._make_default(updated)
        log.info("backup_storage_updated", storage=name, fields=sorted(changes))
        return updated

    async def delete(self, name: str) -> None:
        """Refused for the default while other storages exist, and while live databases
        use it or backups kept on it are listed (a deleted database's too); conditional on
        the record not changing meanwhile. A local storage's directory, and the backups in
        it, are left where they are."""
        for _ in range(_DELETE_ATTEMPTS):
            storage = await self.get(name)
            if storage.is_default and (await self._store.backup_storages.list(limit=0)).total > 1:
                raise BackupStorageIsDefault(
                    f"backup storage {name} is the default; make another storage the default first"
                )
            using, kept = await self._usage(storage)
            if using or kept:
                raise BackupStorageInUse(name, using, kept)
            gone = await self._store.backup_storages.delete(
                storage.id, expected_revision=storage.revision
            )
            if gone:
                log.info("backup_storage_deleted", storage=name)
                return
        raise BackupStorageInUse(name, 0)

    async def _usage(self, storage: BackupStorage) -> tuple[int, int]:
        """The live databases that back up to `storage` and the backups kept on it."""
        using = await self._store.databases.count_using_backup_storage(
            storage.name, or_unset=storage.is_default
        )
        totals = await self._store.backups.totals()
        kept = sum(count for (where, _, _), (count, _) in totals.items() if where == storage.name)
        return using, kept

    async def ensure_embedded(self) -> BackupStorage | None:
        """On start: the storage `local` (BACKUP_LOCAL_DIR/local, the default) when there is
        no storage at all; a default when storages exist and none is (a MongoDB process
        killed in the middle of `make_default`). Returns the storage it created or made the
        default."""
        storages = self._store.backup_storages
        page = await storages.list(limit=1_000)
        for storage in page.items:  # a local storage's folder, removed by hand, comes back
            if storage.provider is StorageProvider.LOCAL:
                await asyncio.to_thread(self._make_local_dir, storage.name)
        if await storages.get_default() is not None:
            return None
        if page.items:
            oldest = min(page.items, key=lambda s: (s.created_at, s.id))
            return await self._make_default(oldest)
        try:
            return await self.create(name=domain.EMBEDDED_NAME, provider=StorageProvider.LOCAL)
        except BackupStorageNameTaken:
            return None  # another instance starting alongside created it

    # --- helpers -----------------------------------------------------------------------

    async def _make_default(self, storage: BackupStorage) -> BackupStorage:
        try:
            made = await self._store.backup_storages.make_default(storage.id)
        except store_errors.NotFound:
            raise BackupStorageNotFound(f"backup storage {storage.name} not found") from None
        log.info("backup_storage_default", storage=made.name)
        return made

    def _make_local_dir(self, name: str) -> Path:
        """BACKUP_LOCAL_DIR/<name>, made private (0700) if it is not there; file I/O, so
        called in a thread."""
        self._local_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = (self._local_dir / name).resolve()
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def _encrypt(self, credentials: Mapping[str, str]) -> str | None:
        if not credentials:
            return None
        if self._cipher is None:
            raise InvalidBackupStorage(
                "credentials",
                "cannot be stored: ENCRYPTION_KEY is not set (set it on every instance)",
            )
        return self._cipher.encrypt(json.dumps(dict(credentials), sort_keys=True))

    def _decrypt(self, storage: BackupStorage) -> dict[str, str]:
        if storage.credentials_encrypted is None:
            return {}
        if self._cipher is None:
            raise BackupStorageUnusable(
                f"backup storage {storage.name}: its credentials cannot be read, "
                "ENCRYPTION_KEY is not set"
            )
        try:
            plain = self._cipher.decrypt(storage.credentials_encrypted)
        except DecryptionFailed as exc:
            raise BackupStorageUnusable(f"backup storage {storage.name}: {exc}") from None
        loaded: dict[str, str] = json.loads(plain)
        return loaded
