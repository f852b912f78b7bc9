"""Which databases get a real server, and keeping each server matching its cluster objects.

A database of a kind with a real server here (`registry`: Postgres, Redis, and MariaDB and
MySQL where `mariadbd` is installed) whose primary pod `<db>-0` starts, with a PVC,
gets a real server while fewer than `real_databases` run; the others stay modelled. The
kubelet model asks `readiness(pod)` (None: modelled, the model decides) and a reconcile
per database, woken by its pod, PVC, Secret, AppBinding and OpsRequests and every second
while a server runs, does the rest: start on the pod's PVC folder (`<root>/<ns>/<pvc>`)
with the auth Secret's credentials, probe, restart a dead server after a second, apply a
rotated password and the memory limit, restart on a Restart OpsRequest, and publish the
address on the AppBinding. The pod's `dataplane.../server` annotation carries the state
(it wakes the kubelet model). A pod that goes stops the server (the data stays); a PVC that
goes (Delete, WipeOut) takes the folder with it.

It must not block the event loop (files and orphans go to threads) nor write the database
object: its phase stays the provisioner's, derived from the pods.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.dataplane import processes, registry
from simulator.kubedb.dataplane.port import (
    ANNOTATION_MODE,
    ANNOTATION_SERVER,
    ANNOTATION_VERSION,
    Account,
    Credentials,
    DataPlaneError,
    Handle,
    Mode,
    ServerSpec,
    ServerState,
)
from simulator.kubedb.dataplane.seeding import Seed, Seeder
from simulator.kubedb.engines import BY_KIND

log = structlog.get_logger(__name__)

ENGINES = registry.ENGINES
primary_of = registry.primary_of
_RESTART_DELAY, _PROBE_EVERY, _START_DEADLINE = 1.0, 1.0, 60.0
Key = registry.Key


@dataclass
class Server:
    folder: Path
    state: ServerState = ServerState.STARTING
    handle: Handle | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    since: float = 0.0
    """Loop time of the last state change."""


class DataPlane:
    def __init__(self, state_file: Path | None, *, limit: Callable[[], int]) -> None:
        self._state_file = state_file
        self._limit = limit
        self._root: Path | None = None
        self._temporary = False
        self._account: Account | None = None
        self._servers: dict[Key, Server] = {}
        self._versions: dict[str, str] = {}
        self._known: set[Key] = set()
        """Databases whose folder a server used before this process: real again at once."""
        self._opened = False
        """`open` has run (whether or not servers can run here)."""
        self._held: set[Key] = set()
        """Pods held not ready while the plane was opening (see `readiness`)."""
        self.seeder: Seeder | None = None  # fills a new server's folder (a recovery)
        self._restarts: set[Key] = set()

    @property
    def root(self) -> Path | None:
        return self._root

    def running(self, key: Key) -> ServerSpec | None:
        """The database's server (folder, account, port) while it runs, else None."""
        server = self._servers.get(key)
        running = server is not None and server.state == ServerState.RUNNING
        return server.handle.spec if running and server and server.handle else None

    def restart(self, key: Key) -> None:  # at its next look: a setting needs it
        self._restarts.add(key)

    async def open(self) -> None:
        """Find the account and the folder, and stop the servers a crash left behind."""
        try:
            self._account = await asyncio.to_thread(processes.account)
            root = await asyncio.to_thread(self._make_root)
        except (DataPlaneError, OSError) as exc:
            log.error("dataplane_unavailable", reason=str(exc))
            self._account = None
            self._opened = True
            return
        # Open only once a crash's leftovers are stopped: a pod restored from the state
        # is held (not ready) until then, never Ready on a server about to be stopped.
        stopped = await asyncio.to_thread(self._stop_orphans, root)
        # Held while opening (see `readiness`), or real before a restart: real now.
        self._known |= await asyncio.to_thread(_known, root)
        self._root, self._opened = root, True
        log.info("dataplane_open", root=str(self._root), user=self._account.name, orphans=stopped)

    async def release_held(self, cluster: Cluster) -> None:
        """After `open`: the pods held while it ran are looked at again (a write to them
        wakes the PetSet controller); with no servers possible here they run modelled."""
        held, self._held = self._held, set()
        if self._account is not None:
            return  # the reconcile gives each a server (they are `known`)
        self._known -= held
        for _kind, namespace, name in held:
            patch = {"metadata": {"annotations": {ANNOTATION_SERVER: "modelled"}}}
            with contextlib.suppress(ClusterError):
                await cluster.merge_patch("pods", namespace, f"{name}-0", patch)

    def _make_root(self) -> Path:
        if self._state_file is None:
            root = Path(tempfile.mkdtemp(prefix="kubedb-sim-dataplane-"))
            self._temporary = True
        else:
            root = self._state_file.parent / f"{self._state_file.stem}-dataplane"
            root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o711)
        for parent in root.resolve().parents:
            if parent.stat().st_mode & 0o001 == 0:
                raise DataPlaneError(f"the servers' user cannot reach {root}: {parent} is closed")
        return root

    @staticmethod
    def _stop_orphans(root: Path) -> int:
        stopped = 0
        for meta_file in root.glob("*/*/meta.json"):
            folder = meta_file.parent
            real = registry.REAL.get(str(_read_meta(folder).get("kind")))
            if real is not None:
                stopped += processes.stop_orphan(
                    real.pid_file(folder), real.marker(folder), sig=real.stop_signal
                )
        return stopped

    async def shutdown(self) -> None:
        servers = list(self._servers.values())
        self._servers.clear()
        await asyncio.gather(*(self._stop(s) for s in servers), return_exceptions=True)
        if self._temporary and self._root is not None:
            await asyncio.to_thread(shutil.rmtree, self._root, True)

    # --- the kubelet model's question ---------------------------------------------------

    def readiness(self, pod: dict[str, Any]) -> ServerState | None:
        """The server behind a pod (None: none, the model decides). A primary pod that is
        not running yet gets a server when the bound allows."""
        key = primary_of(pod)
        if key is None:
            return None
        if not self._opened:
            # A pod may come up before the plane has found its user and folder (time scale
            # 0): hold it not ready, and give it a server once open, as the bound allows.
            if not _has_claim(pod) or len(self._known) >= self._limit():
                return None
            self._known.add(key)
            self._held.add(key)
            return ServerState.STARTING
        if self._account is None:
            return None
        server = self._servers.get(key)
        if server is not None:
            return server.state
        running = (pod.get("status") or {}).get("phase") == "Running"
        if (running and key not in self._known) or not _has_claim(pod):
            return None
        if len(self._servers) >= self._limit():
            return None
        return self._reserve(key).state

    def _reserve(self, key: Key) -> Server:
        assert self._root is not None
        server = self._servers[key] = Server(self._root / key[1] / f"data-{key[2]}-0", since=_now())
        self._known.discard(key)
        return server

    def mode(self, key: Key) -> Mode:
        return Mode.REAL if key in self._servers else Mode.MODELLED

    # --- the reconcile ------------------------------------------------------------------

    async def reconcile(
        self, cluster: Cluster, kind: str, namespace: str, name: str
    ) -> float | None:
        key = (kind, namespace, name)
        if kind not in ENGINES or self._root is None:
            return None
        pvc = await cluster.peek("persistentvolumeclaims", namespace, f"data-{name}-0")
        server = self._servers.get(key)
        if pvc is None:
            await self._forget(key, remove=self._root / namespace / f"data-{name}-0")
            return None
        if server is None and key in self._known:  # real before a restart: real again
            server = self._reserve(key)
        if server is None:
            await self._unpublish(cluster, key)
            return None
        db = await cluster.peek(BY_KIND[kind].plural, namespace, name)
        pod = await cluster.peek("pods", namespace, f"{name}-0")
        if not _wanted(db, pod):
            await self._forget(key)
            return None
        assert db is not None and pod is not None
        if (pod.get("status") or {}).get("phase") != "Running" and server.handle is None:
            return None  # the kubelet model has not started the container yet
        try:
            return await self._step(cluster, key, server, db, pod, pvc)
        except DataPlaneError as exc:
            log.warning("dataplane_step_failed", db="/".join(key), reason=exc.reason)
            await self._set_state(cluster, key, server, ServerState.DOWN)
            return _RESTART_DELAY

    async def _step(
        self,
        cluster: Cluster,
        key: Key,
        server: Server,
        db: dict[str, Any],
        pod: dict[str, Any],
        pvc: dict[str, Any],
    ) -> float | None:
        if server.handle is None:
            if server.state == ServerState.DOWN and _now() - server.since < _RESTART_DELAY:
                return _RESTART_DELAY - (_now() - server.since)
            return await self._start(cluster, key, server, db, pod, pvc) or 0.1
        engine = ENGINES[key[0]]
        alive = await engine.probe(server.handle)
        if server.state == ServerState.STARTING:
            return await self._starting(cluster, key, server, db, alive=alive)
        if not alive:
            log.warning("dataplane_server_down", db="/".join(key))
            await self._stop(server)
            await self._set_state(cluster, key, server, ServerState.DOWN)
            return _RESTART_DELAY
        await self._credentials(cluster, key, server, db)
        asked = key in self._restarts or await self._restart_asked(cluster, key, server)
        if await engine.apply_settings(server.handle, _memory(pod)) or asked:
            self._restarts.discard(key)
            log.info("dataplane_server_restart", db="/".join(key))
            await self._stop(server)
            await self._set_state(cluster, key, server, ServerState.STARTING)
            return 0.0
        await self._publish(cluster, key, server)
        return _PROBE_EVERY

    async def _starting(
        self, cluster: Cluster, key: Key, server: Server, db: dict[str, Any], *, alive: bool
    ) -> float:
        assert server.handle is not None
        process = server.handle.process
        if not alive:
            if (process is not None and process.returncode is not None) or (
                _now() - server.since > _START_DEADLINE
            ):
                raise DataPlaneError(f"the server did not start: see {server.folder}/server.log")
            return 0.1
        await self._credentials(cluster, key, server, db)
        await self._set_state(cluster, key, server, ServerState.RUNNING)
        await self._publish(cluster, key, server)
        log.info("dataplane_server_running", db="/".join(key), port=server.handle.spec.port)
        return _PROBE_EVERY

    async def _start(
        self,
        cluster: Cluster,
        key: Key,
        server: Server,
        db: dict[str, Any],
        pod: dict[str, Any],
        pvc: dict[str, Any],
    ) -> float | None:
        assert self._account is not None
        meta = await asyncio.to_thread(_read_meta, server.folder)
        uid = str(pvc["metadata"].get("uid"))
        if meta.get("pvc") != uid:  # a new claim of an old name: new data
            await asyncio.to_thread(shutil.rmtree, server.folder, True)
            secret = await _secret_credentials(cluster, db)
            meta = {"kind": key[0], "pvc": uid, "handled": [], "created": _stamp(db)}
            meta.update(username=secret.username, password=secret.password)
            meta["seed"] = Seed.WAIT.value if self.seeder is not None else Seed.NONE.value
        processes.own(server.folder.parent, Account("root", None, None), mode=0o711)
        if meta.get("seed") == Seed.WAIT.value and self.seeder is not None:
            await asyncio.to_thread(_write_meta, server.folder, meta, self._account)
            seed = await self.seeder.prepare(cluster, key, db, server.folder, self._account)
            if seed == Seed.WAIT:
                return 0.5
            meta["seed"] = seed.value
            if seed == Seed.SEEDED:  # the recovered data has the source's password
                meta["password"] = ""
        port = processes.free_port(meta.get("port"))
        meta["port"] = port
        server.meta = meta
        await asyncio.to_thread(_write_meta, server.folder, meta, self._account)
        spec = ServerSpec(
            folder=server.folder,
            port=port,
            credentials=Credentials(meta["username"], meta["password"]),
            memory_bytes=_memory(pod),
            account=self._account,
        )
        server.handle = await ENGINES[key[0]].start(spec)
        await self._set_state(cluster, key, server, ServerState.STARTING)
        return None

    async def _credentials(
        self, cluster: Cluster, key: Key, server: Server, db: dict[str, Any]
    ) -> None:
        assert server.handle is not None and self._account is not None
        wanted = await _secret_credentials(cluster, db)
        if (wanted.username, wanted.password) == (
            server.meta.get("username"),
            server.meta.get("password"),
        ):
            return
        await ENGINES[key[0]].apply_credentials(server.handle, wanted)
        server.meta.update(username=wanted.username, password=wanted.password)
        await asyncio.to_thread(_write_meta, server.folder, server.meta, self._account)
        log.info("dataplane_credentials_applied", db="/".join(key))

    async def _restart_asked(self, cluster: Cluster, key: Key, server: Server) -> bool:
        kind, namespace, name = key
        handled = set(server.meta.get("handled") or ())
        asked = False
        for ops in await cluster.list(BY_KIND[kind].ops_plural, namespace):
            spec, uid = ops.get("spec") or {}, str(ops["metadata"].get("uid"))
            if (spec.get("databaseRef") or {}).get("name") != name or uid in handled:
                continue
            if spec.get("type") != "Restart":
                continue
            if (ops.get("status") or {}).get("phase") not in ("Progressing", "Successful"):
                continue
            handled.add(uid)
            asked |= str(ops["metadata"].get("creationTimestamp", "")) >= server.meta["created"]
        if handled != set(server.meta.get("handled") or ()):
            assert self._account is not None
            server.meta["handled"] = sorted(handled)
            await asyncio.to_thread(_write_meta, server.folder, server.meta, self._account)
        return asked

    async def _publish(self, cluster: Cluster, key: Key, server: Server) -> None:
        """The AppBinding says where the server listens (and that it is real)."""
        kind, namespace, name = key
        assert server.handle is not None
        binding = await cluster.peek("appbindings", namespace, name)
        if binding is None:
            return
        if kind not in self._versions:
            self._versions[kind] = await ENGINES[kind].version()
        url = registry.REAL[kind].url.format(port=server.handle.spec.port)
        annotations = binding["metadata"].get("annotations") or {}
        client_config = (binding.get("spec") or {}).get("clientConfig") or {}
        wanted = {ANNOTATION_MODE: Mode.REAL.value, ANNOTATION_VERSION: self._versions[kind]}
        if client_config.get("url") == url and all(
            annotations.get(k) == v for k, v in wanted.items()
        ):
            return
        patch = {"metadata": {"annotations": wanted}, "spec": {"clientConfig": {"url": url}}}
        try:
            await cluster.merge_patch("appbindings", namespace, name, patch)
        except ClusterError:
            return

    async def _unpublish(self, cluster: Cluster, key: Key) -> None:
        """A modelled database's AppBinding says so (one that was real before a restart)."""
        binding = await cluster.peek("appbindings", key[1], key[2])
        annotations = ((binding or {}).get("metadata") or {}).get("annotations") or {}
        if binding is None or annotations.get(ANNOTATION_MODE) != Mode.REAL.value:
            return
        patch = {
            "metadata": {"annotations": {ANNOTATION_MODE: Mode.MODELLED.value}},
            "spec": {"clientConfig": {"url": None}},
        }
        try:
            await cluster.merge_patch("appbindings", key[1], key[2], patch)
        except ClusterError:
            return

    async def _set_state(
        self, cluster: Cluster, key: Key, server: Server, state: ServerState
    ) -> None:
        if server.state != state:
            server.state, server.since = state, _now()
        patch = {"metadata": {"annotations": {ANNOTATION_SERVER: state.value}}}
        pod = await cluster.peek("pods", key[1], f"{key[2]}-0")
        current = ((pod or {}).get("metadata") or {}).get("annotations") or {}
        if pod is None or current.get(ANNOTATION_SERVER) == state.value:
            return
        try:
            await cluster.merge_patch("pods", key[1], f"{key[2]}-0", patch)
        except ClusterError:
            return

    async def _stop(self, server: Server) -> None:
        if server.handle is not None:
            await ENGINES[str(server.meta.get("kind", "Postgres"))].stop(server.handle)
            server.handle = None

    async def _forget(self, key: Key, *, remove: Path | None = None) -> None:
        server = self._servers.pop(key, None)
        if server is not None:
            await self._stop(server)
            log.info("dataplane_server_stopped", db="/".join(key))
        if remove is not None and await asyncio.to_thread(_remove, remove):
            log.info("dataplane_data_removed", db="/".join(key))


def _has_claim(pod: dict[str, Any]) -> bool:
    volumes = (pod.get("spec") or {}).get("volumes") or ()
    return any(v.get("persistentVolumeClaim") for v in volumes)


def _wanted(db: dict[str, Any] | None, pod: dict[str, Any] | None) -> bool:
    if db is None or pod is None or db["metadata"].get("deletionTimestamp"):
        return False
    return not ((db.get("spec") or {}).get("halted") or pod["metadata"].get("deletionTimestamp"))


async def _secret_credentials(cluster: Cluster, db: dict[str, Any]) -> Credentials:
    spec = db.get("spec") or {}
    name = (spec.get("authSecret") or {}).get("name") or f"{db['metadata']['name']}-auth"
    secret = await cluster.peek("secrets", db["metadata"]["namespace"], str(name))
    data = (secret or {}).get("data") or {}
    if "password" not in data:
        raise DataPlaneError(f"the auth Secret {name} has no password yet")
    default = BY_KIND[db["kind"]].default_user
    username = base64.b64decode(data["username"]).decode() if "username" in data else default
    return Credentials(username, base64.b64decode(data["password"]).decode())


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def _memory(pod: dict[str, Any]) -> int:
    for container in (pod.get("spec") or {}).get("containers") or ():
        resources = container.get("resources") or {}
        text = str((resources.get("limits") or resources.get("requests") or {}).get("memory", ""))
        for suffix, factor in _UNITS.items():
            if text.endswith(suffix):
                return int(float(text[: -len(suffix)]) * factor)
        if text.isdigit():
            return int(text)
    return 2**30


def _stamp(db: dict[str, Any]) -> str:
    return str(db["metadata"].get("creationTimestamp", ""))


def _now() -> float:
    return asyncio.get_running_loop().time()


def _read_meta(folder: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _known(root: Path) -> set[Key]:
    known: set[Key] = set()
    for meta_file in root.glob("*/data-*-0/meta.json"):
        kind = str(_read_meta(meta_file.parent).get("kind"))
        name = meta_file.parent.name.removeprefix("data-").removesuffix("-0")
        known.add((kind, meta_file.parent.parent.name, name))
    return known


def _remove(folder: Path) -> bool:
    if not folder.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _write_meta(folder: Path, meta: dict[str, Any], who: Account) -> None:
    processes.own(folder, who)
    processes.write_owned(folder / "meta.json", json.dumps(meta), Account("root", None, None))
