"""The surface a behaviour model (the KubeDB operator model) plugs into. Import from here.

This module is the plugin API: the names in `__all__` (the simulator's own classes and its
`errors` module, re-exported) are all a plugin may use. The KubeDB plugin
(`simulator.kubedb`) imports nothing else of the simulator; an import-linter contract in
`pyproject.toml` keeps it so.

A **plugin** is a function called once with the `Simulator` while it is built, before it
serves (`Simulator(plugins=[install])`, `run_simulator(plugins=[install])`, or
`python -m simulator --plugin package.module:install`; `simulator.kubedb:install` is loaded
by default when it exists). It registers what the model needs:

    def install(sim: Simulator) -> None:
        sim.add_admission_hook(MyWebhook(), group="kubedb.com", kind="MongoDB")  # or global
        sim.add_controller("provisioner", provisioner)        # async def provisioner(ctx)
        sim.config.register(Knob("ops_seconds", 2.0, "how long an OpsRequest runs", minimum=0))
        sim.seed({"apiVersion": "catalog.kubedb.com/v1alpha1", "kind": "MongoDBVersion", ...})
        sim.registry.add(ResourceType(...))                   # more kinds, if ever needed
        sim.add_schema("kubedb.com/v1", "MongoDB", schema.obj({...}))  # structural schema
        sim.catalog_path                                      # the --catalog FILE, or None
        sim.random                                            # seeded random.Random

**Admission** (`AdmissionHook`): `async def admit(self, request: AdmissionRequest) -> None`
runs on every write: POST, PUT, PATCH (apply included), DELETE, and `/status` writes
(`request.subresource == "status"`), over HTTP and from in-process clients (unless they pass
`admission=False`). `request.operation` is "CREATE" | "UPDATE" | "DELETE";
`request.resource` is the `ResourceType` (`.group`, `.version`, `.kind`, `.plural` are also
on the request); `request.namespace`, `request.name`; `request.object` is the object to be
stored, a dict the hook may change in place (mutating webhook; None for DELETE);
`request.old_object` the stored one (UPDATE, DELETE); `request.user` (over HTTP the
authenticated user: "kubernetes-admin" for the admin token,
"system:serviceaccount:<ns>:<name>" for a ServiceAccount token; in process the client's
user: controllers are "system:controller:<name>") and `request.groups` (the user's groups
over HTTP, empty in process); `request.dry_run`. Server-owned metadata (uid,
resourceVersion, generation, timestamps) and, per endpoint, `.status` or
everything-but-status are re-settled after the hook. To refuse, raise an error of
`simulator.errors`:

    raise errors.webhook_denied("mongodb.validators.kubedb.com", "reason")   # 403 Forbidden
    raise errors.Invalid("...", causes=[errors.Cause("spec.x", "Invalid value: ...")])  # 422
    raise errors.invalid(request.resource, request.name, [errors.Cause(...)])  # 422, k8s text

`name`, `group` and `kind` of the Status `details` are filled in from the request. Any other
exception is a broken webhook: 500, traceback logged.

**Schemas** (`schema`): `sim.add_schema(api_version, kind, document)` gives a kind an
OpenAPI v3 structural schema, written with the builders of `schema` (`obj`, `string(enum=)`,
`integer`, `boolean`, `array`, `map_of`, `strings_map`, `int_or_string`, `any_object`).
Every create, update and patch of the kind, over HTTP and in process, admission or not, is
then pruned of unknown fields and validated (422 Invalid with field causes) before the
admission hooks run; `/openapi/v2` and `/openapi/v3` serve it (`kubectl explain`).

**In-process client** (`Client`, from `sim.client(user=..., admission=True)` or
`ctx.client` in a controller): the same verbs and rules as HTTP over the same store; writes
get new resourceVersions and emit watch events. Objects are plain dicts in and (copied) out;
resources are named by plural, kind, short name or `plural.group`; namespaced calls default
to "default". Errors are the `simulator.errors` classes (`errors.NotFound`, `errors.Conflict`,
...). Every write method takes `admission: bool | None` (None: the client's default).

    await client.create(obj, *, namespace=None, dry_run=False, admission=None) -> dict
    await client.get(resource, name, *, namespace=None) -> dict          # errors.NotFound
    await client.find(resource, name, *, namespace=None, copy=True) -> dict | None
        # copy=False: the stored object itself, to read and never change
    await client.list(resource, *, namespace=None, label_selector="", field_selector="")
        -> list[dict]
    await client.list_with_version(resource, *, namespace=None, label_selector="")
        -> tuple[list[dict], str]
    await client.update(obj, *, admission=None) -> dict          # needs resourceVersion (CRs)
    await client.update_status(obj, *, admission=None) -> dict
    await client.patch(resource, name, patch, *, namespace=None, admission=None) -> dict
    await client.patch_status(resource, name, patch, *, namespace=None, admission=None)
        -> dict                                                   # both: merge patches
    await client.apply(obj, *, field_manager, admission=None) -> dict   # server-side apply
    await client.delete(resource, name, *, namespace=None, admission=None, missing_ok=False,
                        propagation_policy=None)   # "Background" | "Foreground" | "Orphan"
        -> dict | None                     # the object while finalizers hold it, else None
    client.watch(resource, *, namespace=None, resource_version=None, label_selector="",
                 field_selector="", copy=True) -> Watch         # errors.Expired if too old

**Watch** (in process): `async with client.watch("mongodbs", resource_version=rv) as w:
async for event in w:` gives `WatchEvent(type, object, rv)` with type "ADDED" | "MODIFIED" |
"DELETED"; `await w.next(timeout)` returns None on timeout or once closed (`w.closed`).
Without `resource_version` the current objects come first as ADDED. Watches end when the
server stops.

**Controllers** (`Controller = async def (ctx: ControllerContext) -> None`): started with
the server, stopped with it (`ctx.stopping` is set, then a grace period, then cancel).
`ctx.client` (user "system:controller:<name>", admission on), `ctx.config` (knobs, read
them on each use: they change at run time), `ctx.random` (seeded), `ctx.time_scale`
(float, 0 = as fast as possible), `await ctx.sleep(simulated_seconds) -> bool` (scaled by
the time scale; True when stopping). A controller that raises is restarted with backoff.

**Knobs** (`Config`, `Knob`): `sim.config.register(Knob(name, default, help, minimum=,
maximum=, choices=))`; types bool, int, float, str, tuple[str, ...]; read with
`config.get_float/get_int/get_bool/get_str/get_strings(name)`. They appear in
`GET/PUT /_sim/config` and can be set at start with `--set name=value`.
`config.subscribe(callback)` calls `callback()` after every change (returns the function
that unsubscribes); the KubeDB model's work queue uses it to re-examine every object.
"""

from __future__ import annotations

from simulator import errors, schema
from simulator.admission import AdmissionHook, AdmissionRequest, Operation
from simulator.client import Client, ResourceRef, Watch
from simulator.config import Config, Knob
from simulator.controllers import Controller, ControllerContext
from simulator.objects import Obj
from simulator.registry import Registry, ResourceType
from simulator.server import Plugin, Simulator, run_simulator
from simulator.watch import WatchEvent

__all__ = [
    "AdmissionHook",
    "AdmissionRequest",
    "Client",
    "Config",
    "Controller",
    "ControllerContext",
    "Knob",
    "Obj",
    "Operation",
    "Plugin",
    "Registry",
    "ResourceRef",
    "ResourceType",
    "Simulator",
    "Watch",
    "WatchEvent",
    "errors",
    "run_simulator",
    "schema",
]
