"""``m2c central ...``: the central service."""

from __future__ import annotations

import argparse
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


def _serve_api(settings: Any, engine: Any) -> None:
    """Serve until SIGTERM or SIGINT, then exit 0 (uvicorn alone re-raises the signal)."""
    import asyncio
    import contextlib
    import signal
    from collections.abc import Iterator

    import uvicorn

    from central.app import create_app
    from central.ingest.commands import CommandPublisher

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    from central.payments.sweeper import Sweeper

    app = create_app(engine, payments=settings.payments)
    app.state.commands = CommandPublisher(settings.broker)  # POST /gateways/{id}/commands
    sweeper = Sweeper(engine, settings.payments)  # field cash, VNPay querydr
    server = Server(
        uvicorn.Config(app, host=settings.http.host, port=settings.http.port, log_config=None)
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        await server.serve()

    app.state.commands.start()
    sweeper.start()
    try:
        asyncio.run(serve())
    finally:
        sweeper.stop()
        app.state.commands.stop()


def _run(args: argparse.Namespace) -> int:
    from central.ingest.worker import IngestWorker

    settings = _load(args.config)
    engine = _engine(settings)
    worker = IngestWorker(settings.broker, engine)
    worker.start()
    try:
        _serve_api(settings, engine)
    finally:
        worker.stop()
    return 0


def _api(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    _serve_api(settings, _engine(settings))
    return 0


def _ingest(args: argparse.Namespace) -> int:
    import signal
    import threading

    from central.ingest.worker import IngestWorker

    settings = _load(args.config)
    worker = IngestWorker(settings.broker, _engine(settings))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    worker.start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
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
