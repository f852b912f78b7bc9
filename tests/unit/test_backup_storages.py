"""The backup storage rules (`app.domain.backup_storages`): what each provider needs, and
the KubeStash Secret its credentials become."""

from __future__ import annotations

import pytest

from app.domain import backup_storages as storages
from app.domain.backup_storages import BackupStorage, StorageProvider
from app.domain.errors import InvalidValue


@pytest.mark.parametrize(
    ("provider", "credentials"),
    [
        (StorageProvider.S3, {"access_key_id": "a", "secret_access_key": "s"}),
        (StorageProvider.GCS, {"project_id": "p", "service_account_json": "{}"}),
        (StorageProvider.AZURE, {"storage_account": "acct", "account_key": "k"}),
        (StorageProvider.LOCAL, {}),
    ],
)
def test_each_provider_accepts_exactly_its_credentials(
    provider: StorageProvider, credentials: dict[str, str]
) -> None:
    assert storages.check_credentials(provider, credentials) == credentials


@pytest.mark.parametrize(
    ("provider", "credentials", "field"),
    [
        (StorageProvider.S3, {"access_key_id": "a"}, "credentials.secret_access_key"),
        (StorageProvider.S3, None, "credentials.access_key_id"),
        (
            StorageProvider.GCS,
            {"project_id": "p", "service_account_json": ""},
            "credentials.service_account_json",
        ),
        (StorageProvider.AZURE, {"account_key": "k"}, "credentials.storage_account"),
        (
            StorageProvider.AZURE,
            {"storage_account": "a", "account_key": "k", "project_id": "p"},
            "credentials.project_id",
        ),
        (StorageProvider.LOCAL, {"access_key_id": "a"}, "credentials"),
    ],
)
def test_a_missing_or_foreign_credential_is_refused_naming_the_field(
    provider: StorageProvider, credentials: dict[str, str] | None, field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        storages.check_credentials(provider, credentials)

    assert refused.value.field == field


def test_object_stores_need_a_bucket_and_local_takes_none() -> None:
    for provider in (StorageProvider.S3, StorageProvider.GCS, StorageProvider.AZURE):
        storages.check_location(provider, bucket="b")
        with pytest.raises(InvalidValue, match="required for a"):
            storages.check_location(provider, bucket=None)
    storages.check_location(StorageProvider.LOCAL, bucket=None)
    with pytest.raises(InvalidValue) as refused:
        storages.check_location(StorageProvider.LOCAL, bucket="b")

    assert refused.value.field == "bucket"


def test_a_name_must_be_a_dns_label_since_it_names_cluster_objects() -> None:
    assert storages.check_name("team-a-backups") == "team-a-backups"
    for bad in ("Team", "a_b", "-a", "a" * 64, ""):
        with pytest.raises(InvalidValue):
            storages.check_name(bad)


def test_credentials_become_the_kubestash_secret_keys() -> None:
    s3 = storages.secret_data(
        StorageProvider.S3,
        {"access_key_id": "a", "secret_access_key": "s"},
        endpoint="http://minio:9000",
    )
    gcs = storages.secret_data(
        StorageProvider.GCS, {"project_id": "p", "service_account_json": "{}"}, endpoint=None
    )
    azure = storages.secret_data(
        StorageProvider.AZURE, {"storage_account": "acct", "account_key": "k"}, endpoint=None
    )

    assert s3 == {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_ENDPOINT": "http://minio:9000",
    }
    assert gcs == {"GOOGLE_PROJECT_ID": "p", "GOOGLE_SERVICE_ACCOUNT_JSON_KEY": "{}"}
    assert azure == {"AZURE_ACCOUNT_NAME": "acct", "AZURE_ACCOUNT_KEY": "k"}
    assert storages.secret_data(StorageProvider.LOCAL, {}, endpoint=None) == {}


def test_a_storage_has_a_bst_id_and_its_backend_secret_name() -> None:
    storage = BackupStorage(name="archive", provider=StorageProvider.S3, bucket="b")

    assert storage.id.startswith("bst-")
    assert storages.backend_secret_name(storage) == "archive-backend"
    assert not storage.has_credentials and not storage.is_default
