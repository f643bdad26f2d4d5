"""``m2c central ...``: the central service."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "central",
        help="the central service: REST API, ingest, billing",
        description="The central service: REST API and MQTT ingest.",
    )
    sub = parser.add_subparsers(dest="central_command", metavar="ACTION", required=True)
    for name, func, text in [
        ("run", _run, "serve the REST API and run an ingest worker in one process"),
        ("api", _api, "serve the REST API only"),
        ("ingest", _ingest, "run one ingest worker only (start several with a share group)"),
        ("migrate", _migrate, "create or upgrade the database schema"),
        ("check-config", _check, "validate a configuration file and exit"),
    ]:
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "-c",
            "--config",
            type=Path,
            default=None,
            help="TOML file (see config/central.sample.toml); env M2C_CENTRAL_* overrides",
        )
        p.set_defaults(func=func)
    from m2c.commands.central_gateway import register_gateway

    register_gateway(sub)


def _load(path: Path | None) -> Any:
    from central.settings import CentralSettings
    from m2c.configfile import load

    return load(CentralSettings, path)


def _engine(settings: Any) -> Any:
    from central.db.engine import make_engine
    from central.db.migrate import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


def _worker(settings: Any, engine: Any) -> Any:
    from central.ingest.worker import IngestWorker

    return IngestWorker(
        settings.broker,
        engine,
        max_messages=settings.ingest.max_messages,
        stall_s=settings.ingest.stall_s,
        max_skew=timedelta(seconds=settings.identity.max_clock_skew_s),
    )


def _stop_early() -> Any:
    """From the first line on, SIGTERM/SIGINT ask for a clean stop (an event), also while the
    app is still being built: a service stopped while starting still exits 0."""
    import signal
    import threading

    asked = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: asked.set())
    return asked


def _serve_api(settings: Any, engine: Any, ingest: Any = None, *, asked: Any = None) -> None:
    """Serve until SIGTERM or SIGINT, then exit 0 (uvicorn alone re-raises the signal)."""
    import asyncio
    import contextlib
    import signal
    from collections.abc import Iterator
    from datetime import timedelta

    import uvicorn

    from central.app import create_app
    from central.identity.keys import CommandKeyError, load_or_create
    from central.ingest.commands import CommandPublisher
    from m2c.configfile import ConfigError

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    app = create_app(engine, ingest=ingest)
    try:
        signing_key = load_or_create(settings.identity.command_key)
    except CommandKeyError as exc:
        raise ConfigError(f"identity.command_key: {exc}") from exc
    app.state.commands = CommandPublisher(  # POST /gateways/{id}/commands
        settings.broker,
        signing_key=signing_key,
        ttl=timedelta(seconds=settings.identity.command_ttl_s),
    )
    server = Server(
        uvicorn.Config(app, host=settings.http.host, port=settings.http.port, log_config=None)
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        if asked is not None and asked.is_set():
            return  # asked to stop while starting
        await server.serve()

    app.state.commands.start()
    try:
        asyncio.run(serve())
    finally:
        app.state.commands.stop()


def _run(args: argparse.Namespace) -> int:
    from central.ingest.watchdog import Watchdog

    asked = _stop_early()
    settings = _load(args.config)
    engine = _engine(settings)
    worker = _worker(settings, engine)
    worker.start()
    watchdog = Watchdog(lambda: worker.health().alive)
    watchdog.start()
    try:
        _serve_api(settings, engine, worker, asked=asked)
    finally:
        watchdog.stop()
        worker.stop()
    return 0


def _api(args: argparse.Namespace) -> int:
    asked = _stop_early()
    settings = _load(args.config)
    _serve_api(settings, _engine(settings), asked=asked)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    import signal
    import threading

    from central.ingest.watchdog import Watchdog

    settings = _load(args.config)
    worker = _worker(settings, _engine(settings))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    worker.start()
    if settings.ingest.metrics_port is not None:
        from prometheus_client import CollectorRegistry, start_http_server

        from central.ingest.health import IngestCollector

        registry = CollectorRegistry()
        registry.register(IngestCollector(lambda: worker))
        start_http_server(settings.ingest.metrics_port, "127.0.0.1", registry)
    watchdog = Watchdog(lambda: worker.health().alive)
    watchdog.start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        watchdog.stop()
        worker.stop()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    engine = _engine(settings)
    print(f"schema up to date on {engine.dialect.name}")
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    print(f"{args.config}: ok (database {settings.database_url.split(':', 1)[0]})")
    return 0
