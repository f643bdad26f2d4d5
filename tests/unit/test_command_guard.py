"""Signed commands: what central signs verifies; an unsigned, altered, foreign-key, misdirected,
expired, far-future or replayed command is refused with its kind and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.command_signature import sign_command
from contract.mqtt import Command
from gateway.command_guard import CommandGuard, CommandRefused
from gateway.replay import ReplayMemory
from tests.support.signing import CENTRAL_KEY, signed

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CMD = Command(id="c-1", kind="config", args={"settings": {"mqtt": {"host": "evil.example"}}})


def guard(tmp: Path, *, now: datetime = NOW, keys: bool = True) -> CommandGuard:
    pub = [CENTRAL_KEY.public_key()] if keys else []
    return CommandGuard("gw-1", pub, ReplayMemory(tmp / "seen.db"), clock=lambda: now)


def refusal(g: CommandGuard, command: Command) -> CommandRefused:
    with pytest.raises(CommandRefused) as info:
        g.check(command)
    return info.value


def test_a_signed_command_is_admitted_once_even_across_restarts(tmp_path: Path) -> None:
    command = signed(CMD, "gw-1", now=NOW)
    g = guard(tmp_path)
    g.check(command)
    assert refusal(g, command).kind == "replayed"
    g.close()
    again = guard(tmp_path)  # a restarted gateway remembers
    refused = refusal(again, command)
    assert (refused.kind, "already received" in str(refused)) == ("replayed", True)


@pytest.mark.parametrize(
    ("make", "kind", "words"),
    [
        (lambda: CMD, "unsigned", "not signed"),
        (lambda: signed(CMD, "gw-1", now=NOW).model_copy(update={"sig": None}), "unsigned", ""),
        (
            lambda: signed(CMD, "gw-1", now=NOW).model_copy(update={"sig": "not-a-signature"}),
            "bad_signature",
            "bytes",
        ),
        (  # the args changed after signing: central's config pointed somewhere else
            lambda: signed(CMD, "gw-1", now=NOW).model_copy(
                update={"args": {"settings": {"mqtt": {"host": "other.example"}}}}
            ),
            "bad_signature",
            "does not match",
        ),
        (  # the expiry moved after signing
            lambda: signed(CMD, "gw-1", now=NOW).model_copy(
                update={"expires": NOW + timedelta(days=2)}
            ),
            "bad_signature",
            "does not match",
        ),
        (lambda: signed(CMD, "gw-2", now=NOW), "bad_signature", "another gateway"),
        (
            lambda: sign_command(CMD, "gw-1", Ed25519PrivateKey.generate(), now=NOW),
            "bad_signature",
            "not signed by central",
        ),
        (lambda: signed(CMD, "gw-1", now=NOW - timedelta(hours=2)), "expired", "expired at"),
        (
            lambda: signed(CMD, "gw-1", now=NOW, ttl=timedelta(days=30)),
            "expired",
            "further ahead",
        ),
    ],
)
def test_forged_or_stale_commands_are_refused(
    tmp_path: Path, make: object, kind: str, words: str
) -> None:
    g = guard(tmp_path)
    refused = refusal(g, make())  # type: ignore[operator]
    assert refused.kind == kind
    assert words in str(refused)
    assert str(refused).startswith("refused: ")
    assert len(g.memory) == 0  # nothing refused is remembered (cannot block a real command)


def test_without_a_central_key_every_command_is_refused(tmp_path: Path) -> None:
    assert refusal(guard(tmp_path, keys=False), signed(CMD, "gw-1", now=NOW)).kind == "no_key"


def test_clock_skew_is_tolerated_within_bounds(tmp_path: Path) -> None:
    command = signed(CMD, "gw-1", now=NOW, ttl=timedelta(minutes=1))
    guard(tmp_path, now=NOW + timedelta(minutes=4)).check(command)  # 3 min late: within 5
    late = refusal(guard(tmp_path / "b", now=NOW + timedelta(minutes=7)), command)
    assert late.kind == "expired"


def test_replay_memory_forgets_only_expired_ids(tmp_path: Path) -> None:
    memory = ReplayMemory(tmp_path / "m.db")
    assert memory.admit("a", NOW + timedelta(hours=1), now=NOW) is None
    assert memory.admit("b", NOW + timedelta(hours=3), now=NOW) is None
    assert memory.admit("a", NOW + timedelta(hours=1), now=NOW) == NOW
    memory.admit("c", NOW + timedelta(hours=4), now=NOW + timedelta(hours=2))
    assert len(memory) == 2  # "a" expired and was forgotten; "b" and "c" kept


def test_a_broken_replay_memory_refuses_rather_than_crashes(tmp_path: Path) -> None:
    g = guard(tmp_path)
    g.memory.close()  # as after a disk failure: every use raises sqlite3.Error
    refused = refusal(g, signed(CMD, "gw-1", now=NOW))
    assert refused.kind == "unavailable"
