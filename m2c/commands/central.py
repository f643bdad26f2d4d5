"""``m2c central ...``: the central service."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from m2c.configfile import ConfigError


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
        ("policy", _policy, "print which role may call which route (a Markdown table)"),
    ]:
        p = sub.add_parser(name, help=text, description=text)
        _config(p)
        p.set_defaults(func=func)
        if name == "policy":
            p.add_argument(
                "--write",
                type=Path,
                default=None,
                help="replace the table in this file (docs/security.md) instead of printing it",
            )
    from m2c.commands._central_auth import add_actions
    from m2c.commands.central_gateway import register_gateway

    add_actions(sub, _config)
    register_gateway(sub)


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="TOML file (see config/central.sample.toml); env M2C_CENTRAL_* overrides",
    )


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
    from central.db.engine import writer_sessions
    from central.identity.keys import CommandKeyError, load_or_create
    from central.ingest.commands import CommandPublisher
    from m2c.configfile import ConfigError

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    from central.auth.secret import load as load_secret
    from central.payments.sweeper import Sweeper

    _refuse_plaintext(settings)
    app = create_app(
        engine,
        ingest=ingest,
        receipt_keys=settings.receipts.keys,
        channels=settings.channels,
        payments=settings.payments,
        auth_settings=settings.auth,
        auth_secret=load_secret(settings.auth),
    )
    try:
        signing_key = load_or_create(settings.identity.command_key)
    except CommandKeyError as exc:
        raise ConfigError(f"identity.command_key: {exc}") from exc
    app.state.commands = CommandPublisher(  # POST /gateways/{id}/commands
        settings.broker,
        signing_key=signing_key,
        ttl=timedelta(seconds=settings.identity.command_ttl_s),
    )
    app.state.notifier = _notifier(settings, writer_sessions(engine))
    sweeper = Sweeper(engine, settings.payments)  # field cash, VNPay querydr
    tls = settings.http
    server = Server(
        uvicorn.Config(
            app,
            host=tls.host,
            port=tls.port,
            log_config=None,
            ssl_certfile=str(tls.tls_certfile) if tls.tls_certfile else None,
            ssl_keyfile=str(tls.tls_keyfile) if tls.tls_keyfile else None,
        )
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        if asked is not None and asked.is_set():
            return  # asked to stop while starting
        await server.serve()

    app.state.commands.start()
    if app.state.notifier is not None:
        app.state.notifier.start()
    sweeper.start()
    try:
        asyncio.run(serve())
    finally:
        sweeper.stop()
        app.state.commands.stop()
        if app.state.notifier is not None:
            app.state.notifier.stop()


def _notifier(settings: Any, sessions: Any) -> Any:
    """The notifier when a channel is configured: chat replies and notices, e-mail, SMS."""
    from central.notify.notifier import Notifier
    from central.notify.senders import (
        EmailSender,
        Sender,
        SmsSender,
        WeChatSender,
        ZaloSender,
    )

    channels = settings.channels
    senders: dict[str, Sender] = {}
    locales: dict[str, str] = {}
    if channels.zalo is not None:
        senders["zalo"], locales["zalo"] = ZaloSender(channels.zalo), channels.zalo.locale
    if channels.wechat is not None:
        locales["wechat"] = channels.wechat.locale
        if channels.wechat.app_id and channels.wechat.app_secret:
            senders["wechat"] = WeChatSender(channels.wechat)
    if channels.smtp is not None:
        senders["email"] = EmailSender(channels.smtp)
    if channels.sms is not None:
        senders["sms"] = SmsSender(channels.sms)
    return Notifier(sessions, senders, chat_locales=locales) if senders or locales else None


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
    from central.auth.secret import SecretError, load_configured

    settings = _load(args.config)
    _refuse_plaintext(settings)
    try:
        where = load_configured(settings.auth)
    except SecretError as exc:
        raise ConfigError(f"config error in {args.config or '<defaults>'}: {exc}") from exc
    if settings.http.allow_plaintext and not _loopback(settings.http.host):
        print(
            f"WARNING: REST API on {settings.http.host}:{settings.http.port} in plain HTTP "
            "(http.allow_plaintext): passwords and tokens cross the network in clear unless a "
            "TLS proxy is in front",
            file=sys.stderr,
        )
    print(
        f"{args.config}: ok (database {settings.database_url.split(':', 1)[0]}, "
        f"auth secret {where})"
    )
    return 0


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_plaintext(settings: Any) -> None:
    """Credentials never cross a network in clear: a non-loopback address needs TLS (or
    ``allow_plaintext`` behind a TLS proxy)."""
    http = settings.http
    if (http.tls_certfile is None) != (http.tls_keyfile is None):
        raise ConfigError("config error: http.tls_certfile and http.tls_keyfile go together")
    if _loopback(http.host) or http.tls_certfile is not None or http.allow_plaintext:
        return
    raise ConfigError(
        f"config error: http.host {http.host} is not a loopback address and there is no TLS: "
        "set http.tls_certfile and http.tls_keyfile, or http.allow_plaintext = true behind "
        "a TLS-terminating proxy"
    )


def _policy(args: argparse.Namespace) -> int:
    from central.app import create_app
    from central.auth.matrix import BEGIN, END, markdown

    table = markdown(create_app("sqlite://"))
    if args.write is None:
        print(table, end="")
        return 0
    text = args.write.read_text("utf-8")
    if BEGIN not in text or END not in text:
        raise ConfigError(f"{args.write}: no policy table markers to replace")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1].removeprefix("\n")
    args.write.write_text(head + table + tail, "utf-8")
    print(f"{args.write}: policy table updated")
    return 0
