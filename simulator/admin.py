"""The admin API under `/_sim/` (JSON; never faulted, never counted):

GET          /_sim/config         knob values          {"latency_ms": 0.0, ...}
PUT | PATCH  /_sim/config         change some knobs    {"error_rate": 0.5} -> all values
GET          /_sim/config/schema  each knob's type, default, bounds and help
POST         /_sim/config/reset   every knob back to its default
GET          /_sim/stats          {"requests": {"list mongodbs": 3}, "faults": {}, ...}
POST         /_sim/stats/reset    zero the statistics (DELETE /_sim/stats too)
GET          /_sim/info           resourceVersion, object counts, open watches
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator import errors, wire
from simulator.config import Config
from simulator.faults import Stats
from simulator.registry import Registry
from simulator.store import Store
from simulator.watch import WatchHub


def routes(
    *, config: Config, stats: Stats, registry: Registry, store: Store, hub: WatchHub
) -> list[Route]:
    async def get_config(request: Request) -> Response:
        return wire.json_response(config.snapshot())

    async def put_config(request: Request) -> Response:
        body = await wire.read_json(request)
        if not isinstance(body, dict):
            raise errors.BadRequest("the config body must be a JSON object of knob values")
        config.update(body)
        return wire.json_response(config.snapshot())

    async def schema(request: Request) -> Response:
        return wire.json_response(config.describe())

    async def reset_config(request: Request) -> Response:
        config.reset()
        return wire.json_response(config.snapshot())

    async def get_stats(request: Request) -> Response:
        return wire.json_response(stats.snapshot())

    async def reset_stats(request: Request) -> Response:
        stats.reset()
        return wire.json_response(stats.snapshot())

    async def info(request: Request) -> Response:
        return wire.json_response(
            {
                "resourceVersion": str(store.resource_version),
                "objects": {rt.resource: store.count(rt) for rt in registry if store.count(rt)},
                "watches": hub.subscriber_count(),
                "watchHistoryHorizon": str(hub.horizon),
            }
        )

    def route(
        path: str, endpoint: Callable[[Request], Awaitable[Response]], methods: list[str]
    ) -> Route:
        return Route(path, endpoint, methods=methods)

    return [
        route("/config", get_config, ["GET"]),
        route("/config", put_config, ["PUT", "PATCH"]),
        route("/config/schema", schema, ["GET"]),
        route("/config/reset", reset_config, ["POST"]),
        route("/stats", get_stats, ["GET"]),
        route("/stats", reset_stats, ["DELETE"]),
        route("/stats/reset", reset_stats, ["POST"]),
        route("/info", info, ["GET"]),
    ]
