"""`python -m simulator`: serve a simulated cluster until SIGINT or SIGTERM.

    python -m simulator --port 0 --kubeconfig-out var/kubeconfig.json
    simulator listening on http://127.0.0.1:40123

Fault and time knobs have their own flags; any knob (a plugin's too) can be set with
`--set name=value`. `--objects FILE` creates the objects of a YAML or JSON file at start
(documents, lists, or Kubernetes Lists); `--catalog FILE` is handed to the plugin that owns
the catalog format (`Simulator.catalog_path`). `--state FILE` keeps the cluster on disk
(`persistence`): a restart brings back every object, the resourceVersion counter and the
port, unless `--port` names another.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog
import yaml

from simulator import kubeconfig, persistence
from simulator.server import Plugin, Simulator, run_simulator

log = structlog.get_logger(__name__)

DEFAULT_PLUGINS = ("simulator.kubedb:install",)
# flag -> knob
_KNOB_FLAGS = {
    "latency_ms": "latency_ms",
    "error_rate": "error_rate",
    "throttle_rate": "throttle_rate",
    "hang_rate": "hang_rate",
    "watch_drop_after": "watch_drop_after_events",
    "watch_drop_probability": "watch_drop_probability",
    "time_scale": "time_scale",
    "real_databases": "real_databases",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="IP address to listen on")
    p.add_argument(
        "--port",
        type=int,
        help="port (0: any free port; default: the one --state remembers, else any)",
    )
    p.add_argument(
        "--state",
        type=Path,
        help="keep objects, resourceVersions and the port in this SQLite file (default: memory)",
    )
    p.add_argument("--kubeconfig-out", type=Path, help="write a kubeconfig for the server here")
    p.add_argument(
        "--tls-dir",
        type=Path,
        help="serve HTTPS with the certificate kept in this directory (made if missing); "
        "kubectl sends its token only over HTTPS",
    )
    p.add_argument("--catalog", type=Path, help="catalog file, for the plugin that owns it")
    p.add_argument(
        "--objects",
        type=Path,
        action="append",
        default=[],
        help="YAML/JSON file of objects to create at start (repeatable)",
    )
    p.add_argument("--seed", type=int, help="seed of the random generators")
    p.add_argument(
        "--watch-history",
        type=int,
        default=10_000,
        help="changes kept for watches that resume from a resourceVersion",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="a plugin to install (repeatable)",
    )
    p.add_argument(
        "--no-default-plugins",
        action="store_true",
        help=f"do not install {', '.join(DEFAULT_PLUGINS)}",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="set a knob (repeatable); see GET /_sim/config/schema",
    )
    p.add_argument("--latency-ms", type=float)
    p.add_argument("--error-rate", type=float, help="fraction of requests answered 500")
    p.add_argument("--throttle-rate", type=float, help="fraction of requests answered 429")
    p.add_argument("--hang-rate", type=float, help="fraction of requests never answered")
    p.add_argument("--watch-drop-after", type=int, help="drop watches after N events")
    p.add_argument("--watch-drop-probability", type=float)
    p.add_argument("--time-scale", type=float, help="real seconds per simulated second")
    p.add_argument(
        "--real-databases",
        type=int,
        default=4,
        help="how many databases may run a real server at once (KubeDB model; 0: none)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--access-log", action="store_true")
    return p


def load_plugin(spec: str) -> Plugin:
    module_name, _, attribute = spec.partition(":")
    plugin = getattr(importlib.import_module(module_name), attribute or "install")
    if not callable(plugin):
        raise SystemExit(f"simulator: plugin {spec!r} is not callable")
    return plugin  # type: ignore[no-any-return]


def plugins(args: argparse.Namespace) -> list[Plugin]:
    specs = list(args.plugin)
    if not args.no_default_plugins:
        for spec in DEFAULT_PLUGINS:
            module_name, _, attribute = spec.partition(":")
            found = importlib.util.find_spec(module_name) is not None
            if found and hasattr(importlib.import_module(module_name), attribute):
                specs.insert(0, spec)
            else:
                log.info("default_plugin_absent", plugin=spec)
    return [load_plugin(spec) for spec in specs]


def configure(sim: Simulator, args: argparse.Namespace) -> None:
    """Apply knob flags, `--set` and `--objects` (a bad value stops the start)."""
    values: dict[str, object] = {
        knob: getattr(args, flag)
        for flag, knob in _KNOB_FLAGS.items()
        if getattr(args, flag) is not None and knob in sim.config
    }
    for item in args.set:
        name, sep, text = item.partition("=")
        if not sep or name not in sim.config:
            raise SystemExit(f"simulator: --set {item!r}: unknown knob {name!r}")
        knob = next(k for k in sim.config if k.name == name)
        try:
            values[name] = knob.parse(text)
        except ValueError as exc:
            raise SystemExit(f"simulator: --set {item!r}: {exc}") from None
    sim.config.update(values)
    for path in args.objects:
        for document in yaml.safe_load_all(path.read_text()):
            listed = document.get("items") if isinstance(document, dict) else document
            for obj in listed if isinstance(listed, list) else [document]:
                sim.seed(obj)


async def serve(args: argparse.Namespace) -> None:
    sim = Simulator(
        seed=args.seed,
        watch_history=args.watch_history,
        catalog_path=args.catalog,
        plugins=plugins(args),
        state=args.state,
        admin_token=kubeconfig.token_in(args.kubeconfig_out) if args.kubeconfig_out else None,
    )
    configure(sim, args)
    port = args.port
    if port is None:
        port = persistence.port_to_serve(args.host, sim.state.port if sim.state else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with run_simulator(
        args.host, port, simulator=sim, access_log=args.access_log, tls_dir=args.tls_dir
    ) as served:
        if sim.state is not None:
            sim.state.remember_port(served.port)
        print(f"simulator listening on {served.url}", flush=True)
        if args.kubeconfig_out:
            kubeconfig.write(
                args.kubeconfig_out, served.url, token=sim.admin_token, ca_pem=served.ca_pem
            )
            print(f"kubeconfig written to {args.kubeconfig_out}", flush=True)
        await stop.wait()
        log.info("simulator_stopping")


def _configure_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _configure_logging(args.log_level)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"simulator: cannot serve on {args.host}:{args.port or 0}: {exc}", file=sys.stderr)
        return 1
    return 0
