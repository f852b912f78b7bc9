"""A point-in-time create on the real engine and the simulator: the new database's CR asks
KubeDB to recover it (`spec.init.archiver`, the PITR contract of decision 69) instead of
waiting for a RestoreSession, and a recovery the cluster fails fails the create with the
cluster's message (needs a simulator that serves the archiver kinds; skipped otherwise)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from app.domain.manifests import backups as manifests
from app.domain.manifests import labels
from app.domain.operations import OperationStatus
from app.services import backup_cluster
from app.store.sqlite import SQLiteStore
from simulator.errors import NotFound as SimulatorNotFound
from tests.integration.test_database_handlers import NAMESPACE, world

pytestmark = pytest.mark.timeout(60)

T = "2026-12-07T18:30:05Z"
RECOVERY = {
    "restore": {
        "database_id": "db-source",
        "namespace": NAMESPACE,
        "repository": "ledger-full",
        "manifest_repository": "ledger-manifest",
        "snapshot": "ledger-incremental-snapshot",
        "point_in_time": T,
    }
}


async def test_a_point_in_time_create_asks_kubedb_to_recover_and_starts_no_restore_session(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.database("ledger-then")

        await w.run(db, "create", RECOVERY)

        cr = await w.cr(db)
        # KubeDB may run restorers of its own; the platform starts none.
        ours = await w.gateway.list(
            backup_cluster.RESTORE_SESSION,
            namespace=NAMESPACE,
            labels={labels.MANAGED_BY_KEY: labels.MANAGED_BY},
        )
        named = await w.gateway.find(
            backup_cluster.RESTORE_SESSION,
            manifests.restore_session_name("ledger-then"),
            namespace=NAMESPACE,
        )
        assert cr is not None
        assert cr["spec"]["init"] == {
            "archiver": {
                "recoveryTimestamp": T,
                "fullDBRepository": {"name": "ledger-full", "namespace": NAMESPACE},
                "manifestRepository": {"name": "ledger-manifest", "namespace": NAMESPACE},
                "replicationStrategy": "none",
            }
        }
        assert ours == [] and named is None


async def test_a_recovery_the_cluster_fails_fails_the_create_with_its_data_restored_message(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        try:
            w.served.client().resource("postgresarchivers")
        except SimulatorNotFound:
            pytest.skip("this simulator serves no archiver.kubedb.com kinds (the PITR contract)")
        db = await w.database("ledger-then")

        op = await w.run(db, "create", RECOVERY)

        record = await w.record(db.id)
        assert op.status is OperationStatus.FAILED
        assert (op.error_message or "").startswith("point-in-time restore failed: ")
        assert T in (op.error_message or "")
        assert record.message == op.error_message
