"""One simulated cluster (`Simulator`) and serving it on a real loopback socket
(`run_simulator`), for the CLI and for tests alike.

`Simulator` wires the parts: registry, knobs, store, watch hub, verbs, admission chain,
controllers, statistics, and the built-in namespace lifecycle. Plugins (the KubeDB operator
model) are functions called with the simulator at construction; they register admission
hooks, controllers, knobs and startup objects (see `extensions`).

`run_simulator` serves it with uvicorn in a task, on a socket it binds itself (port 0 picks a
free port), and stops in order: end watches and held requests, stop uvicorn, stop the
controllers. Tests must use it (a real socket), not an ASGI transport, which buffers
streamed watch responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from simulator import authn, errors, kubeconfig, persistence, rbac, tls
from simulator.access import Access
from simulator.admission import AdmissionChain, AdmissionHook
from simulator.asgi import build_app
from simulator.client import Client
from simulator.config import Config
from simulator.consistency import COMPACTION_INTERVAL, Compactor
from simulator.controllers import TIME_SCALE, Controller, ControllerContext, Controllers
from simulator.faults import FAULT_KNOBS, Stats
from simulator.gc import GarbageCollector
from simulator.namespaces import SYSTEM, NamespaceDefaults, NamespaceLifecycle, default_namespace
from simulator.objects import Obj, clone
from simulator.registry import Registry, default_registry
from simulator.schema_check import Schemas
from simulator.store import Store
from simulator.verbs import Verbs
from simulator.watch import WatchHub
from simulator.watchstream import QUIET_DROPS, WATCH_KNOBS

Plugin = Callable[["Simulator"], None]


class Simulator:
    def __init__(
        self,
        *,
        registry: Registry | None = None,
        seed: int | None = None,
        watch_history: int = 10_000,
        catalog_path: Path | None = None,
        plugins: Sequence[Plugin] = (),
        state: Path | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.registry = registry or default_registry()
        self.config = Config((*FAULT_KNOBS, *WATCH_KNOBS, TIME_SCALE, COMPACTION_INTERVAL))
        self.random = random.Random(seed)
        """For plugins and controllers: seeded, so a run can be repeated."""
        self.fault_random = random.Random(None if seed is None else seed ^ 0x5EED)
        self.catalog_path = catalog_path
        """The `--catalog` file, for the plugin that owns the catalog format."""
        self.hub = WatchHub(watch_history)
        self.store = Store(self.hub)
        self.admission = AdmissionChain()
        self.schemas = Schemas()
        self.verbs = Verbs(
            registry=self.registry,
            store=self.store,
            hub=self.hub,
            admission=self.admission,
            rng=self.random,
            schemas=self.schemas,
        )
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self.controllers = Controllers(self._context)
        self._app: ASGIApp | None = None
        self.state = persistence.open_state(self, state) if state is not None else None
        """The `--state` file (objects, counter and port kept on disk), or None."""
        self.add_admission_hook(NamespaceDefaults(), group="", kind="Namespace")
        for name in SYSTEM:
            self.seed(default_namespace(name))
        self.add_controller("namespace-lifecycle", NamespaceLifecycle(self.registry))
        self.add_controller("compactor", Compactor(self.hub))
        remembered = self.state.remembered("admin_token") if self.state else None
        self.admin_token = admin_token or remembered or authn.new_admin_token()
        """The bearer token of `kubernetes-admin` (system:masters), for kubeconfigs; kept in
        the `--state` file, so a restarted simulator's credentials stay valid."""
        if self.state is not None and self.admin_token != remembered:
            self.state.remember("admin_token", self.admin_token)
        self.access = Access(
            authn.Authenticator(
                store=self.store, registry=self.registry, admin_token=self.admin_token
            ),
            rbac.Authorizer(self.store, self.registry),
        )
        for policy in rbac.bootstrap_policy():
            self.seed(policy)
        self.add_controller("serviceaccount-tokens", authn.TokenController())
        self.add_controller("garbage-collector", GarbageCollector(self.verbs, self.hub))
        for plugin in plugins:
            plugin(self)

    def client(self, *, user: str = "system:simulator", admission: bool = True) -> Client:
        return Client(self.verbs, user=user, admission=admission)

    def add_admission_hook(
        self, hook: AdmissionHook, *, group: str | None = None, kind: str | None = None
    ) -> None:
        self.admission.register(hook, group=group, kind=kind)

    def add_schema(self, api_version: str, kind: str, document: dict[str, Any]) -> None:
        """Give a kind a structural schema: writes are pruned and validated against it
        (`schema_check`) and `/openapi/v2`, `/openapi/v3` serve it."""
        group, _, version = api_version.rpartition("/")
        self.schemas.register(group, version, kind, document)

    def add_controller(self, name: str, controller: Controller) -> None:
        self.controllers.add(name, controller)

    def seed(self, obj: Obj, *, status: Obj | None = None) -> Obj:
        """Store an object at once, without admission (startup objects, a catalog), with
        `status` as its controller's report when given. One restored from the `--state`
        file is kept as stored."""
        try:
            return clone(self.verbs.seed(obj, status=status))
        except errors.AlreadyExists:
            if self.state is None:
                raise
            rt = self.registry.by_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
            md = obj.get("metadata") or {}
            assert rt is not None  # seeding found it already there
            return clone(self.verbs.get(rt, md.get("namespace"), str(md.get("name"))))

    def _context(self, name: str) -> ControllerContext:
        return ControllerContext(
            name=name,
            client=self.client(user=f"system:controller:{name}"),
            config=self.config,
            random=self.random,
            stopping=self.controllers.stopping,
        )

    def app(self) -> ASGIApp:
        if self._app is None:
            self._app = build_app(self)
        return self._app

    async def start(self) -> None:
        await self.controllers.start()

    def stop_serving(self) -> None:
        """End every watch and held request, so the HTTP server can stop; tell the
        controllers to stop (their watches end too)."""
        self.stopping.set()
        self.controllers.stopping.set()
        self.hub.close()

    async def stop(self, *, grace: float = 5.0) -> None:
        self.stop_serving()
        await self.controllers.stop(grace=grace)
        if self.state is not None:
            self.state.close()


@dataclass(frozen=True)
class Served:
    url: str
    host: str
    port: int
    simulator: Simulator
    ca_pem: bytes | None = None
    """The serving certificate (HTTPS only): clients trust it (`verify=`, the kubeconfig)."""

    def client(self, *, user: str = "system:simulator", admission: bool = True) -> Client:
        return self.simulator.client(user=user, admission=admission)

    def kubeconfig(self) -> dict[str, Any]:
        """Cluster-admin's kubeconfig (the admin token)."""
        return kubeconfig.build(self.url, token=self.simulator.admin_token, ca_pem=self.ca_pem)

    @property
    def admin_headers(self) -> dict[str, str]:
        """The `Authorization` header of cluster-admin, for HTTP clients in tests."""
        return {"Authorization": f"Bearer {self.simulator.admin_token}"}


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers (the embedding process owns signals), and one
    that stops as soon as it is told (`request_exit`), not at its next 0.1 s tick: tests
    start and stop a simulator hundreds of times."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self._exit_requested = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit_requested.set()

    async def main_loop(self) -> None:
        """uvicorn's loop (a tick every 0.1 s keeps its Date header fresh), woken early by
        `request_exit`."""
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._exit_requested.wait()
            should_exit = await self.on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a host name such as "localhost"
        family = socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@contextlib.asynccontextmanager
async def run_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    simulator: Simulator | None = None,
    access_log: bool = False,
    shutdown_grace: float = 5.0,
    tls_dir: Path | None = None,
    **options: Any,
) -> AsyncIterator[Served]:
    """Serve a simulator (a new one built from `options`, or `simulator`) until the block
    ends; over HTTPS with the certificate kept in `tls_dir` when given (see `tls`)."""
    if simulator is not None and options:
        raise TypeError(f"pass either a simulator or its options, not both: {sorted(options)}")
    sim = simulator or Simulator(**options)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    cert = tls.ensure(tls_dir) if tls_dir is not None else None
    server = _EmbeddedServer(
        uvicorn.Config(
            sim.app(),
            log_config=None,
            access_log=access_log,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=int(shutdown_grace),
            ssl_certfile=cert.cert_file if cert else None,
            ssl_keyfile=cert.key_file if cert else None,
        )
    )
    logging.getLogger("uvicorn.error").addFilter(QUIET_DROPS)
    url_host = f"[{host}]" if ":" in host else host
    await sim.start()
    task = asyncio.get_running_loop().create_task(
        server.serve(sockets=[sock]), name="simulator-http"
    )
    try:
        ready = asyncio.get_running_loop().create_task(server.ready.wait(), name="simulator-ready")
        await asyncio.wait((ready, task), return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
            await task
            raise RuntimeError("the simulator's HTTP server stopped while starting")
        scheme = "https" if cert else "http"
        yield Served(
            url=f"{scheme}://{url_host}:{bound}",
            host=host,
            port=bound,
            simulator=sim,
            ca_pem=cert.pem if cert else None,
        )
    finally:
        sim.stop_serving()
        server.request_exit()
        try:
            await task
        finally:
            await sim.stop(grace=shutdown_grace)
            sock.close()
