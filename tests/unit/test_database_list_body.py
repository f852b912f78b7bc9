"""The list routes' JSON (and a GET's), written straight from the store's records, is byte for
byte what the models wrote (`DatabaseList(databases=[DatabaseOut.of(d) ...]).model_dump_json()`,
`DatabaseOut.of(d).model_dump_json()`)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.api.v1 import database_models as models
from app.domain.data_plane import DataPlane
from app.domain.databases import Database, DatabaseStatus, HealthStatus


def _records() -> list[Database]:
    plain = Database(name="plain", domain="acme", project="web", engine="postgres", version="16")
    full = Database(
        name="full",
        domain="acme",
        project="web",
        engine="mysql",
        version="8.0",
        status=DatabaseStatus.RUNNING,
        health_status=HealthStatus.HEALTHY,
        phase="Ready",
        ready_replicas=3,
        replicas=3,
        endpoint="full.acme-web.svc",
        port=3306,
        data_plane=DataPlane.MODELLED,
        server_version="8.0.36",
        backup_retention_count=5,
        backup_storage="archive",
        pitr_enabled=True,
        labels={"app.kubernetes.io/name": "shop", "tier": "gold"},
        annotations={"note": 'quotes " and \\ and ünïcode'},
        provider_id="prov_1",
        namespace="acme-web",
        kubedb_resource_name="full-x1",
        operation_id="op_1",
        message="scaled",
        # A whole second: pydantic writes no fraction for it.
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
    )
    return [plain, full]


def _models_json(databases: list[Database], *, total: int, page: int, page_size: int) -> bytes:
    body = models.DatabaseList(
        databases=[models.DatabaseOut.of(d) for d in databases],
        total=total,
        page=page,
        page_size=page_size,
    )
    return body.model_dump_json().encode()


def test_a_page_of_records_is_written_as_the_models_wrote_it() -> None:
    records = _records()

    written = models.DatabaseList.json_of(records, total=7, page=2, page_size=2)

    assert written == _models_json(records, total=7, page=2, page_size=2)


def test_an_empty_page_is_written_as_the_models_wrote_it() -> None:
    written = models.DatabaseList.json_of([], total=0, page=1, page_size=20)

    assert written == _models_json([], total=0, page=1, page_size=20)


def test_a_written_page_validates_as_the_documented_model() -> None:
    written = models.DatabaseList.json_of(_records(), total=2, page=1, page_size=20)

    parsed = models.DatabaseList.model_validate_json(written)

    assert [d.name for d in parsed.databases] == ["plain", "full"]
    assert parsed.databases[1].labels == {"app.kubernetes.io/name": "shop", "tier": "gold"}


def test_one_database_is_written_as_its_model_wrote_it() -> None:
    for record in _records():
        written = models.DatabaseOut.json_of(record)

        assert written == models.DatabaseOut.of(record).model_dump_json().encode()
