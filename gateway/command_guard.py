"""What a command must prove before the gateway runs it: central's signature over it and this
gateway's id, an expiry not yet passed, and an id never admitted before (persisted, so a replay
after a restart is refused too). Refusals are reasons for the reply, never exceptions upward."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contract.command_signature import CommandSignatureError, parse_public_key, verify_command
from contract.mqtt import Command
from gateway.replay import ReplayMemory


class CommandRefused(Exception):
    """A command failed the guard; ``str()`` is the reason sent back to central.
    ``kind`` is one of ``unsigned``, ``bad_signature``, ``expired``, ``replayed``, ``no_key``,
    ``unavailable`` (the replay memory cannot be written)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def _now() -> datetime:
    return datetime.now(UTC)


class CommandGuard:
    def __init__(
        self,
        gateway_id: str,
        keys: Sequence[Ed25519PublicKey],
        memory: ReplayMemory,
        *,
        skew: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.gateway_id = gateway_id
        self.keys = tuple(keys)
        self.memory = memory
        self.skew = skew
        self.clock = clock

    @classmethod
    def from_texts(
        cls,
        gateway_id: str,
        keys: Sequence[str],
        memory_path: Path,
        *,
        skew: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _now,
    ) -> CommandGuard:
        """Keys as base64url texts (checked by the settings already)."""
        parsed = [parse_public_key(k) for k in keys]
        return cls(gateway_id, parsed, ReplayMemory(memory_path), skew=skew, clock=clock)

    def check(self, command: Command) -> None:
        """Admit ``command`` (and remember its id) or raise :class:`CommandRefused`."""
        if not self.keys:
            raise CommandRefused(
                "no_key", "refused: no central command key configured (downlink.central_keys)"
            )
        now = self.clock()
        try:
            expires = verify_command(command, self.gateway_id, self.keys, now=now, skew=self.skew)
        except CommandSignatureError as exc:
            kind = {
                "UnsignedCommandError": "unsigned",
                "ExpiredCommandError": "expired",
            }.get(type(exc).__name__, "bad_signature")
            raise CommandRefused(kind, f"refused: {exc}") from exc
        try:
            first = self.memory.admit(command.id, expires + self.skew, now=now)
        except sqlite3.Error as exc:  # fail closed: without the memory a replay cannot be told
            raise CommandRefused(
                "unavailable", f"refused: replay memory unavailable ({exc}); not run"
            ) from exc
        if first is not None:
            raise CommandRefused(
                "replayed",
                f"refused: command {command.id} was already received at {first.isoformat()};"
                " not run again",
            )

    def close(self) -> None:
        self.memory.close()
