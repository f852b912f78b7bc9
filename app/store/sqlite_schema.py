"""The SQLite adapter's tables and indexes (`app.store.sqlite`), applied at every open; every
statement is idempotent (`IF NOT EXISTS`), so a new index reaches an existing file.

The rules the store promises live here as indexes: one live database per (domain, project,
name), one active operation per database.
"""

from __future__ import annotations

# Operation statuses that hold a database (`OperationStatus.is_active`), as an SQL list.
ACTIVE = "('queued','running','waiting')"
LIVE_TENANT_INDEX = "databases_live_tenant_created"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS databases (
    id TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc))
);
CREATE UNIQUE INDEX IF NOT EXISTS databases_live_name ON databases (
    json_extract(doc, '$.domain'), json_extract(doc, '$.project'), json_extract(doc, '$.name')
) WHERE json_extract(doc, '$.status') != 'deleted';
CREATE INDEX IF NOT EXISTS databases_tenant_created ON databases (
    json_extract(doc, '$.domain'), json_extract(doc, '$.project'), json_extract(doc, '$.created_at')
);
CREATE INDEX IF NOT EXISTS databases_live_tenant_created ON databases (
    json_extract(doc, '$.domain'), json_extract(doc, '$.project'),
    json_extract(doc, '$.created_at'), id
) WHERE json_extract(doc, '$.status') != 'deleted';

CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc))
);
CREATE UNIQUE INDEX IF NOT EXISTS operations_one_active ON operations (
    json_extract(doc, '$.database_id')
) WHERE json_extract(doc, '$.status') IN {ACTIVE};
CREATE INDEX IF NOT EXISTS operations_database_created ON operations (
    json_extract(doc, '$.database_id'), json_extract(doc, '$.created_at')
);
CREATE INDEX IF NOT EXISTS operations_created ON operations (json_extract(doc, '$.created_at'));
CREATE INDEX IF NOT EXISTS operations_due ON operations (
    json_extract(doc, '$.next_run_at')
) WHERE json_extract(doc, '$.status') IN {ACTIVE};

CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc))
);
CREATE INDEX IF NOT EXISTS events_database_created ON events (
    json_extract(doc, '$.database_id'), json_extract(doc, '$.created_at')
);

CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc))
);
DROP INDEX IF EXISTS api_keys_hash;
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_domain_created ON audit (
    json_extract(doc, '$.domain'), json_extract(doc, '$.created_at')
);
CREATE INDEX IF NOT EXISTS audit_created ON audit (json_extract(doc, '$.created_at'));
CREATE TABLE IF NOT EXISTS providers (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS providers_name ON providers (json_extract(doc, '$.name'));
CREATE TABLE IF NOT EXISTS backup_storages (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL CHECK (json_valid(doc))
);
CREATE UNIQUE INDEX IF NOT EXISTS backup_storages_name ON backup_storages (
    json_extract(doc, '$.name')
);
CREATE UNIQUE INDEX IF NOT EXISTS backup_storages_one_default ON backup_storages (
    json_extract(doc, '$.default_key')
);
CREATE INDEX IF NOT EXISTS databases_live_backup_storage ON databases (
    json_extract(doc, '$.backup_storage')
) WHERE json_extract(doc, '$.status') != 'deleted';
CREATE TABLE IF NOT EXISTS fences (name TEXT PRIMARY KEY, epoch INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS api_keys_tenant_created ON api_keys (
    json_extract(doc, '$.domain'), json_extract(doc, '$.project'), json_extract(doc, '$.created_at')
);
"""
