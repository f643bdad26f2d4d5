"""Downlink: commands from central (``m2c/v1/gw/<gw>/cmd``), each answered by a CommandReply.

Every message gets a reply, never an exception: a payload that is not JSON, not a
:class:`contract.mqtt.Command`, of an unknown kind, or whose handler fails is answered
``ok=false`` with the reason. A redelivered command (same id) is answered again with the first
reply and not run twice.

Pushed configuration (``kind = "config"``, ``args = {"settings": {...}}``) is laid over the
file configuration, validated as a whole, written atomically (temporary file, fsync, rename),
then applied; if applying fails the previous file is restored and the previous settings applied
again, and the reply says so.

Before any of that, the :class:`gateway.command_guard.CommandGuard` admits the command: signed by
central for this gateway, not expired, never seen before. An unsigned, badly signed, expired or
replayed command is answered ``ok=false`` with the reason and reported through ``on_refused``
(the daemon makes it a ``command_refused`` event); it never runs. A redelivered command is
therefore refused as replayed: a command runs at most once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from contract.mqtt import Command, CommandReply
from gateway.command_guard import CommandGuard, CommandRefused
from gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[str]]  # returns a short outcome text
CommandHandler = Callable[[Command], Awaitable[str]]  # for handlers that need the command's id


class CommandRejected(Exception):
    """A command cannot be carried out; ``str()`` is the reason sent back to central."""


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def with_overlay(base: GatewaySettings, overlay: dict[str, Any]) -> GatewaySettings:
    """``base`` with pushed settings laid over it; ValidationError when the result is wrong."""
    return GatewaySettings(**deep_merge(base.model_dump(mode="json"), overlay))


def load_overlay(path: Path) -> dict[str, Any]:
    """The last pushed configuration, or ``{}`` (a missing or unreadable file counts as none)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        if path.exists():
            log.error("pushed configuration unreadable: ignored", path=str(path), error=str(exc))
        return {}
    return data if isinstance(data, dict) else {}


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class ConfigStore:
    """The base (file) settings, the pushed overlay on disk, and the settings in force."""

    def __init__(
        self,
        base: GatewaySettings,
        path: Path,
        *,
        apply: Callable[[GatewaySettings], Awaitable[None]],
    ) -> None:
        self.base = base
        self.path = path
        self.apply = apply
        self.overlay = load_overlay(path)
        self.current = base
        if self.overlay:
            try:
                self.current = with_overlay(base, self.overlay)
            except ValidationError as exc:
                log.error("pushed configuration invalid: ignored", path=str(path), error=str(exc))
                self.overlay = {}

    async def push(self, overlay: dict[str, Any]) -> str:
        if not isinstance(overlay, dict) or not overlay:
            raise CommandRejected("config needs args.settings: a non-empty table")
        try:
            new = with_overlay(self.base, deep_merge(self.overlay, overlay))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CommandRejected(f"invalid configuration at {where}: {first['msg']}") from exc
        if new.gateway_id != self.current.gateway_id:
            raise CommandRejected("gateway_id cannot be changed from central")
        if new.downlink.central_keys != self.current.downlink.central_keys:
            raise CommandRejected("downlink.central_keys cannot be changed from central")
        merged = deep_merge(self.overlay, overlay)
        previous = self.path.read_bytes() if self.path.exists() else None
        write_atomic(self.path, json.dumps(merged, indent=2, default=str).encode())
        try:
            await self.apply(new)
        except Exception as exc:  # any failure to apply means: roll back
            if previous is None:
                self.path.unlink(missing_ok=True)
            else:
                write_atomic(self.path, previous)
            await self.apply(self.current)
            raise CommandRejected(f"applying failed, previous settings restored: {exc}") from exc
        self.overlay, self.current = merged, new
        return "configuration applied"


class Downlink:
    def __init__(
        self,
        gateway_id: str,
        *,
        reply: Callable[[CommandReply], None],
        guard: CommandGuard,
        on_refused: Callable[[str, str, str], None] | None = None,
        config: ConfigStore | None = None,
        set_log_level: Callable[[str], None] | None = None,
    ) -> None:
        self.gateway_id = gateway_id
        self.reply = reply
        self.guard = guard
        self.on_refused = on_refused  # (command id, refusal kind, reason)
        self.config = config
        self.set_log_level = set_log_level
        self.handlers: dict[str, Handler] = {}
        self.command_handlers: dict[str, CommandHandler] = {}
        self.received = 0
        self.rejected = 0
        self.refused: dict[str, int] = {}  # refusals by kind (unsigned, expired, replayed, ...)

    def register(self, kind: str, handler: Handler) -> None:
        """Handle ``kind`` (``read_now``, ``restart_bus``, ``print``, ``bill_cache``)."""
        self.handlers[kind] = handler

    def register_command(self, kind: str, handler: CommandHandler) -> None:
        """Like :meth:`register`, for a handler that is given the whole command (its id)."""
        self.command_handlers[kind] = handler

    async def handle(self, payload: bytes) -> CommandReply:
        """Run one downlink message and send its reply; never raises for bad input."""
        self.received += 1
        command_id = ""
        try:
            raw = json.loads(payload)
            if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].isprintable():
                command_id = raw["id"][:64]
            command = Command.model_validate(raw)
        except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
            text = str(exc).splitlines()
            reason = f"malformed command: {' '.join(text[:3])[:300]}"
            return self._send(command_id, ok=False, reason=reason)
        try:
            self.guard.check(command)
        except CommandRefused as exc:
            self.refused[exc.kind] = self.refused.get(exc.kind, 0) + 1
            if self.on_refused is not None:
                self.on_refused(command.id, exc.kind, str(exc))
            return self._send(command.id, ok=False, reason=str(exc))
        try:
            outcome = await self._run(command)
        except CommandRejected as exc:
            return self._send(command.id, ok=False, reason=str(exc))
        except Exception as exc:  # a handler's failure is a reply, not a crash
            log.exception("command failed", command=command.id, kind=command.kind)
            return self._send(command.id, ok=False, reason=f"{type(exc).__name__}: {exc}")
        return self._send(command.id, ok=True, reason=outcome)

    async def _run(self, command: Command) -> str:
        if command.kind == "config":
            if self.config is None:
                raise CommandRejected("configuration push is not enabled on this gateway")
            return await self.config.push(command.args.get("settings"))  # type: ignore[arg-type]
        if command.kind == "set_log_level":
            level = command.args.get("level")
            if self.set_log_level is None:
                raise CommandRejected("log level cannot be changed on this gateway")
            if not isinstance(level, str):
                raise CommandRejected("set_log_level needs args.level")
            try:
                self.set_log_level(level)
            except ValueError as exc:
                raise CommandRejected(str(exc)) from exc
            return f"log level {level}"
        whole = self.command_handlers.get(command.kind)
        if whole is not None:
            return await whole(command)
        handler = self.handlers.get(command.kind)
        if handler is None:
            raise CommandRejected(f"no handler for {command.kind!r} on this gateway")
        return await handler(command.args)

    def _send(self, command_id: str, *, ok: bool, reason: str) -> CommandReply:
        reply = CommandReply(
            gateway_id=self.gateway_id,
            command_id=command_id,
            ok=ok,
            reason=reason,
            ts=datetime.now(UTC),
        )
        if not ok:
            self.rejected += 1
            log.warning("command rejected", command=command_id, reason=reason)
        self.reply(reply)
        return reply
