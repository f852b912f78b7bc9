"""`create_app()` and the lifespan that wires and supervises the components of one process.

    start:  store ─► Redis (embedded server when REDIS_URL is unset) ─► queue group
            ─► supervisor: delayed pump, N operation workers, leader elector
               (which runs the reconciliation worker while this instance leads)
    stop:   stop taking work, let in-flight steps finish (bounded by SHUTDOWN_GRACE),
            release the lease, close Redis, stop the embedded server, close the store

Nothing here does domain work; it only builds the pieces from `Settings` and hands them to
each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI

from app import console, data_dir, encryption
from app.api import auth, edge, routes
from app.api import docs as api_docs
from app.api import errors as api_errors
from app.api import idempotency as api_idempotency
from app.api import wiring as api_wiring
from app.api.limits import RequestLimits
from app.api.middleware import RequestMiddleware
from app.broker.client import make_client
from app.broker.counters import RedisTokenBuckets
from app.broker.embedded import EmbeddedRedis
from app.broker.errors import BrokerError
from app.broker.idempotency import RedisIdempotencyRecords
from app.broker.keys import RedisKeys
from app.broker.locks import RedisLocks
from app.broker.streams import OperationQueue
from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.config.settings import Settings, load_settings
from app.domain import sizes
from app.domain.sizes import SizeTable
from app.encryption import Cipher
from app.engine.registry import HandlerRegistry
from app.engine.retry import RetryPolicy
from app.engine.runner import EngineConfig
from app.observability.access_log import AccessLog
from app.observability.log import configure_logging, get_logger
from app.observability.metrics import Metrics
from app.runtime import heap
from app.runtime.startup import connect_with_retry
from app.runtime.supervisor import ComponentState, Supervisor
from app.services.api_keys import ApiKeyService, bootstrap_admin_key
from app.services.audit import AuditLog
from app.services.backup_cluster import FromStorages, StorageResolver
from app.services.backup_storages import BackupStorageService
from app.services.backup_sync import BackupSync
from app.services.backups import BackupService
from app.services.catalog import CatalogService
from app.services.cluster_health import ProviderProbe
from app.services.cluster_view import ClusterView
from app.services.clusters import ClusterFleet
from app.services.database_lists import DatabaseLists
from app.services.databases import DatabaseService
from app.services.drift_repair import DriftRepair
from app.services.handlers.deps import HandlerDeps, HandlerTiming, fleet_clusters
from app.services.handlers.registry import register_database_handlers
from app.services.health import PING_TIMEOUT, HealthService, WorkerCounts
from app.services.idempotency import IdempotencyStore
from app.services.operations import OperationDefaults, OperationService
from app.services.orphan_records import OrphanRecords
from app.services.placement import Placement
from app.services.providers import ProviderService, register_local_provider
from app.services.quotas import Quotas
from app.services.rate_limits import Limit, RateLimiter
from app.services.status_sync import StatusSync
from app.services.telemetry import GaugeSampler
from app.store import open_store
from app.store.errors import StoreError
from app.store.protocols import Store
from app.workers.delayed_pump import DelayedPump
from app.workers.leader_election import LeaderElector
from app.workers.membership import Membership
from app.workers.operation_worker import OperationWorker
from app.workers.reconciliation_worker import ReconciliationWorker
from app.workers.status_sync_worker import StatusSyncWorker

log = get_logger(__name__)

WORKER_GROUP = "operation_workers"
# How a cluster watch resumes a dropped stream (the cluster layer sits below the engine,
# whose policy this is, so it is handed in here).
WATCH_RETRY = RetryPolicy(initial=0.1, factor=2.0, cap=5.0, max_attempts=6, jitter=0.2)


@dataclass
class Runtime:
    """Everything the lifespan built, for tests and tools to reach (routes reach
    `app.api.wiring.Services`, built from it)."""

    settings: Settings
    store: Store
    redis: aioredis.Redis
    queue: OperationQueue
    operations: OperationService
    catalog: CatalogService
    handlers: HandlerRegistry
    elector: LeaderElector
    reconciler: ReconciliationWorker
    supervisor: Supervisor
    metrics: Metrics
    fleet: ClusterFleet
    providers: ProviderService
    backup_storages: BackupStorageService
    placement: Placement
    cluster: KubeGateway | None = None
    sizes: SizeTable = field(default_factory=sizes.default_size_table)
    # Runs only with a cluster to read.
    status_sync: StatusSyncWorker | None = None
    # Where backups go (the backup storages); None: backups cannot run.
    storages: StorageResolver | None = None


def operation_handlers() -> HandlerRegistry:
    """An empty registry; `build_runtime` adds the database handlers when a cluster is set."""
    return HandlerRegistry()


async def _connect_redis(settings: Settings, stack: AsyncExitStack) -> aioredis.Redis:
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.embedded_redis_dir)
        url = await embedded.start()
        stack.push_async_callback(embedded.stop)
    client = make_client(url)
    stack.push_async_callback(client.aclose)
    await connect_with_retry("redis", client.ping)
    return client


async def build_runtime(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    handlers: HandlerRegistry | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    metrics = metrics or Metrics()
    data_dir.make_private(settings.data_dir)  # before anything is written under it
    store = await connect_with_retry(
        f"store ({_store_kind(settings)})", lambda: open_store(settings)
    )
    stack.push_async_callback(store.close)
    redis = await _connect_redis(settings, stack)
    keys = RedisKeys(settings.redis_key_prefix)
    queue = OperationQueue(redis, prefix=keys.operations)
    await connect_with_retry("operation queue", queue.ensure_group)
    await bootstrap_admin_key(
        store, settings.data_dir / "admin-api-key", configured=settings.admin_api_key
    )

    cluster = None
    connection = cluster_connection(settings)
    if connection is not None:
        cluster = KubeGateway.connect(
            connection,
            metrics=metrics,
            watch_retry=WATCH_RETRY,
            remember_for=settings.cluster_recent_writes_ttl,
        )
        stack.push_async_callback(cluster.close)
        await register_local_provider(store)
    cipher = _cipher(settings)
    backup_storages = BackupStorageService(store, cipher=cipher, local_dir=settings.backup_dir)
    await backup_storages.ensure_embedded()
    fleet = ClusterFleet(
        store,
        default=cluster,
        cipher=cipher,
        connect=KubeGateway.connect,
        metrics=metrics,
        remember_for=settings.cluster_recent_writes_ttl,
    )
    stack.push_async_callback(fleet.close)
    size_table = _size_table(settings)
    locks = RedisLocks(redis, prefix=keys.placement_locks)
    placement = Placement(store, size_table, Quotas(store), locks)
    if handlers is None:
        handlers = operation_handlers()
        poll = settings.operation_poll_interval
        register_database_handlers(
            handlers,
            HandlerDeps(
                store=store,
                cluster_for=fleet_clusters(fleet),
                sizes=size_table,
                timing=HandlerTiming(
                    provision_deadline=settings.provision_deadline,
                    provision_poll=poll,
                    ops_poll=poll,
                    halt_poll=poll,
                    delete_poll=poll,
                    backup_poll=poll,
                ),
                storages=FromStorages(backup_storages),
            ),
        )
    supervisor = Supervisor(expected_errors=(BrokerError, StoreError))
    engine = EngineConfig(
        visibility_timeout=settings.operation_visibility_timeout,
        step_timeout=settings.operation_step_timeout,
        retry=RetryPolicy(
            initial=settings.operation_retry_initial,
            max_attempts=settings.operation_max_attempts,
        ),
        read_block=settings.operation_read_block,
    )
    elector = LeaderElector(
        redis,
        instance_id=settings.instance_id,
        ttl=settings.leader_lease_ttl,
        retry_interval=settings.leader_retry_interval,
        key=keys.leader,
        metrics=metrics,
        epochs=store.fences,
    )
    operations = OperationService(
        store, queue, OperationDefaults(deadline=settings.operation_deadline)
    )
    catalog = CatalogService(cluster, size_table, allowed=settings.allowed_versions)
    reconciler = ReconciliationWorker(
        store=store,
        queue=queue,
        interval=min(settings.reconcile_interval, settings.operation_visibility_timeout),
        stall_grace=settings.operation_visibility_timeout,
        repair=DriftRepair(
            store, ClusterView(fleet), operations, catalog, size_table, placement=placement
        ),
        repair_interval=settings.reconcile_interval,
        metrics=metrics,
        orphans=OrphanRecords(store, placement, grace=settings.orphan_record_grace),
        backups=BackupSync(store, fleet),
        backup_interval=settings.backup_sync_interval,
    )
    runtime = Runtime(
        settings=settings,
        store=store,
        redis=redis,
        queue=queue,
        operations=operations,
        catalog=catalog,
        fleet=fleet,
        placement=placement,
        providers=ProviderService(
            store,
            fleet,
            cipher=cipher,
            kubeconfig_dir=settings.kubeconfig_dir,
            catalog_for=lambda gateway: CatalogService(
                gateway, size_table, allowed=settings.allowed_versions
            ),
        ),
        backup_storages=backup_storages,
        storages=FromStorages(backup_storages),
        handlers=handlers,
        elector=elector,
        reconciler=reconciler,
        supervisor=supervisor,
        metrics=metrics,
        cluster=cluster,
        sizes=size_table,
    )
    interval = settings.status_sync_interval
    runtime.status_sync = StatusSyncWorker(
        StatusSync(store, ClusterView(fleet)),
        Membership(redis, settings.instance_id, ttl=interval, key=keys.members),
        interval=interval,
        metrics=metrics,
    )
    _start_components(runtime, engine)
    return runtime


def _start_components(runtime: Runtime, engine: EngineConfig) -> None:
    settings, supervisor = runtime.settings, runtime.supervisor
    supervisor.start("delayed_pump", DelayedPump(runtime.queue).run)
    for index in range(settings.num_operation_workers):
        worker = OperationWorker(
            consumer=f"{settings.instance_id}/{index}",
            store=runtime.store,
            queue=runtime.queue,
            handlers=runtime.handlers,
            config=engine,
            concurrency=settings.operation_concurrency,
            metrics=runtime.metrics,
            on_end=lambda operation: runtime.placement.settle(operation.database_id),
        )
        supervisor.start(f"operation_worker_{index}", worker.run, group=WORKER_GROUP)
    log.info(
        "operation_workers_started",
        count=settings.num_operation_workers,
        concurrency=settings.operation_concurrency,
    )
    lead = runtime.reconciler.lead
    supervisor.start("leader_election", lambda stop: runtime.elector.run(lead, stop))
    if runtime.status_sync is not None:
        supervisor.start("status_sync", runtime.status_sync.run)


def cluster_connection(settings: Settings) -> ClusterConnection | None:
    """The cluster databases go to: a kubeconfig, the pod's own cluster, or none."""
    if settings.cluster_in_cluster:
        return ClusterConnection.in_cluster()
    if settings.cluster_kubeconfig is not None:
        return ClusterConnection.kubeconfig_path(settings.cluster_kubeconfig)
    return None


def _cipher(settings: Settings) -> Cipher | None:
    """ENCRYPTION_KEY; on the embedded store, a key generated under DATA_DIR on first
    start; with MongoDB and no key, none (kubeconfig content cannot be stored)."""
    if settings.encryption_key is not None:
        return Cipher(settings.encryption_key.get_secret_value())
    if settings.mongodb_url is None:
        return Cipher(encryption.load_or_create_key(settings.data_dir / "encryption-key"))
    return None


def _size_table(settings: Settings) -> SizeTable:
    if settings.sizes_file is None:
        return sizes.default_size_table()
    return sizes.parse_size_table(settings.sizes_file.read_text(), source=str(settings.sizes_file))


def _store_kind(settings: Settings) -> str:
    return "mongodb" if settings.mongodb_url else f"sqlite {settings.sqlite_path}"


def _health(runtime: Runtime) -> HealthService:
    supervisor = runtime.supervisor

    def workers() -> WorkerCounts:
        return WorkerCounts(
            configured=runtime.settings.num_operation_workers,
            live=supervisor.count(WORKER_GROUP, ComponentState.RUNNING),
        )

    def components() -> dict[str, str]:
        states = {
            "leader_election": str(supervisor.state("leader_election")),
            "delayed_pump": str(supervisor.state("delayed_pump")),
        }
        if runtime.status_sync is not None:
            states["status_sync"] = str(supervisor.state("status_sync"))
        return states

    return HealthService(
        instance_id=runtime.settings.instance_id,
        store=runtime.store,
        ping_redis=runtime.redis.ping,
        leader=runtime.elector,
        workers=workers,
        components=components,
        passes=lambda: _passes(runtime),
        ping_cluster=runtime.cluster.ping if runtime.cluster is not None else None,
        probe_providers=ProviderProbe(runtime.store, runtime.fleet, timeout=PING_TIMEOUT),
    )


def _passes(runtime: Runtime) -> dict[str, Any]:
    """`/health`'s `passes`: the last pass of each periodic worker on this instance."""
    report: dict[str, Any] = {"reconciliation": runtime.reconciler.report()}
    if runtime.status_sync is not None:
        report["status_sync"] = runtime.status_sync.report()
    return report


def _services(runtime: Runtime, settings: Settings) -> api_wiring.Services:
    """What requests call, built once per app from the runtime."""
    keys = RedisKeys(settings.redis_key_prefix)
    buckets = RedisTokenBuckets(runtime.redis, prefix=keys.rate_limits)
    databases = DatabaseService(
        runtime.store,
        runtime.operations,
        runtime.catalog,
        runtime.sizes,
        runtime.fleet,
        runtime.placement,
        realtime_timeout=settings.status_realtime_timeout,
    )
    return api_wiring.Services(
        databases=databases,
        backups=BackupService(
            runtime.store, databases, runtime.storages, gateway_for=databases.gateway_for
        ),
        database_lists=DatabaseLists(runtime.store),
        operations=runtime.operations,
        catalog=runtime.catalog,
        providers=runtime.providers,
        backup_storages=runtime.backup_storages,
        quotas=runtime.placement.quotas,
        audit=AuditLog(runtime.store),
        api_keys=ApiKeyService(runtime.store, cache_ttl=settings.auth_cache_ttl),
        idempotency=IdempotencyStore(
            RedisIdempotencyRecords(runtime.redis, prefix=keys.idempotency)
        ),
        rate_limiter=RateLimiter(
            buckets,
            Limit(
                per_minute=settings.rate_limit_per_minute,
                burst=settings.rate_limit_burst,
            ),
        ),
        anonymous_rate_limiter=RateLimiter(
            buckets,
            Limit(
                per_minute=settings.anonymous_rate_limit_per_minute,
                burst=settings.anonymous_rate_limit_burst,
            ),
        ),
        health=_health(runtime),
        gauges=GaugeSampler(runtime.metrics, store=runtime.store, queue=runtime.queue),
        metrics=runtime.metrics,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app. Without `settings`, they are read from the environment (and `.env`)."""
    settings = settings or load_settings()
    # Built with the app, not in the lifespan: the HTTP middleware needs it from the start.
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            log.info("starting", instance_id=settings.instance_id)
            runtime = await build_runtime(settings, stack, metrics=metrics)
            app.state.runtime = runtime  # for tests and tools; the API reads `services`
            api_wiring.attach(app, _services(runtime, settings))
            console.attach(
                app,
                runtime.redis,
                prefix=RedisKeys(settings.redis_key_prefix).console_sessions,
                ttl=settings.console_session_ttl,
                data_dir=settings.data_dir,
            )
            log.info("started", instance_id=settings.instance_id)
            heap.freeze(until=stack)  # wired: the collector never scans start-up's objects again
            try:
                yield
            finally:
                log.info("stopping", instance_id=settings.instance_id)
                await runtime.supervisor.shutdown(grace=settings.shutdown_grace)
                await asyncio.sleep(0)
        log.info("stopped", instance_id=settings.instance_id)

    app = FastAPI(
        title="kubedb-dbaas",
        version="0.1.0",
        summary="Database-as-a-Service control plane for Kubernetes and KubeDB",
        lifespan=lifespan,
        docs_url=None,  # app.api.docs serves /docs with local assets
        redoc_url=None,
    )
    # Inside the request middleware: a 413 carries the request id.
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_request_body_bytes)
    app.add_middleware(RequestMiddleware, metrics=metrics, access_log=AccessLog.of(settings))
    edge.install(app, settings)  # outermost: proxy headers, security headers, CORS
    api_errors.install(app, authenticate=auth.authenticate)
    api_idempotency.install(app)
    # A request is matched against the routes in order: the console's as one group that
    # any path outside /console passes with one string test (`app.api.route_groups`), then
    # the database routes (a GET of one, a project's list: the hot reads), then the rest.
    console.install(app)
    routes.include_first(app)
    routes.include(app)
    api_docs.install(app)
    return app


def __getattr__(name: str) -> Any:
    """`app.main:app` for `uvicorn app.main:app` (the container's command): the app is built
    on first access, from the environment, with logging set up as `python -m app` does.
    Built lazily so that importing this module (tests, tools) reads no settings."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    global _asgi_app
    if _asgi_app is None:
        settings = load_settings()
        configure_logging(
            level=settings.log_level, fmt=settings.log_format, instance_id=settings.instance_id
        )
        _asgi_app = create_app(settings)
    return _asgi_app


_asgi_app: FastAPI | None = None
