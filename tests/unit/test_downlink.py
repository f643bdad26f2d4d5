"""Downlink commands: every message answered, config applied atomically or rolled back."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contract.mqtt import Command, CommandReply
from gateway.command_guard import CommandGuard
from gateway.downlink import CommandRejected, ConfigStore, Downlink
from gateway.replay import ReplayMemory
from gateway.settings import GatewaySettings
from tests.support.signing import CENTRAL_KEY, signed_bytes


class Harness:
    def __init__(self, tmp: Path, *, fail_apply: bool = False) -> None:
        self.replies: list[CommandReply] = []
        self.applied: list[GatewaySettings] = []
        self.levels: list[str] = []
        self.fail_apply = fail_apply
        self.path = tmp / "pushed.json"
        base = GatewaySettings(gateway_id="gw-d")
        self.store = ConfigStore(base, self.path, apply=self.apply)
        guard = CommandGuard("gw-d", [CENTRAL_KEY.public_key()], ReplayMemory(tmp / "commands.db"))
        self.downlink = Downlink(
            "gw-d",
            reply=self.replies.append,
            guard=guard,
            config=self.store,
            set_log_level=self.set_level,
        )

    async def apply(self, settings: GatewaySettings) -> None:
        self.applied.append(settings)
        if self.fail_apply and len(self.applied) == 1:
            raise RuntimeError("serial port /dev/ttyUSB9 missing")

    def set_level(self, level: str) -> None:
        if level not in ("debug", "info"):
            raise ValueError(f"log level {level!r} is not known")
        self.levels.append(level)

    def send(self, payload: bytes | dict[str, Any]) -> CommandReply:
        """Sent as central sends it: signed, when it is a command at all."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with contextlib.suppress(ValidationError):  # malformed: answered as such
            raw = signed_bytes(Command.model_validate_json(raw), "gw-d")
        return asyncio.run(self.downlink.handle(raw))


def test_config_is_validated_written_atomically_and_applied(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    synthetic = [{"id": "syn-x", "count": 5}]
    reply = h.send(
        {
            "v": 1,
            "id": "c1",
            "kind": "config",
            "args": {"settings": {"synthetic": synthetic, "mqtt": {"rate_limit_msgs_s": 5}}},
        }
    )
    assert (reply.ok, reply.command_id, reply.reason) == (True, "c1", "configuration applied")
    assert h.applied[-1].synthetic[0].id == "syn-x"
    assert h.applied[-1].mqtt.rate_limit_msgs_s == 5
    assert json.loads(h.path.read_text())["synthetic"] == synthetic
    assert not list(tmp_path.glob("*.tmp"))
    # The next start reads it back.
    again = ConfigStore(GatewaySettings(gateway_id="gw-d"), h.path, apply=h.apply)
    assert again.current.synthetic[0].id == "syn-x"


def test_invalid_config_is_rejected_with_the_key_and_nothing_changes(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    reply = h.send(
        {"v": 1, "id": "c2", "kind": "config", "args": {"settings": {"mqtt": {"port": 70000}}}}
    )
    assert not reply.ok
    assert "mqtt.port" in reply.reason
    bad_id = h.send(
        {"v": 1, "id": "c3", "kind": "config", "args": {"settings": {"gateway_id": "other"}}}
    )
    assert "gateway_id" in bad_id.reason
    assert not h.path.exists()
    assert h.applied == []


def test_a_config_that_fails_to_apply_is_rolled_back(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.path.write_text('{"metrics": {"port": 9200}}')
    h.store = ConfigStore(GatewaySettings(gateway_id="gw-d"), h.path, apply=h.apply)
    h.downlink.config = h.store
    h.fail_apply = True
    reply = h.send(
        {"v": 1, "id": "c4", "kind": "config", "args": {"settings": {"metrics": {"port": 9300}}}}
    )
    assert not reply.ok
    assert "previous settings restored" in reply.reason
    assert "ttyUSB9" in reply.reason
    assert json.loads(h.path.read_text()) == {"metrics": {"port": 9200}}
    assert [s.metrics.port for s in h.applied] == [9300, 9200]  # tried, then restored
    assert h.store.current.metrics.port == 9200


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x00\x01 not json", "malformed command"),
        (b'{"v":1,"id":"c5","kind":"format_disk"}', "kind"),
        (b'{"v":2,"id":"c6","kind":"read_now"}', "v"),
        (b"[]", "malformed command"),
        (b'{"v":1,"id":"c7","kind":"print","args":{}}', "no handler for 'print'"),
        (b'{"v":1,"id":"c8","kind":"set_log_level","args":{"level":"loud"}}', "loud"),
        (b'{"v":1,"id":"c9","kind":"set_log_level","args":{}}', "needs args.level"),
        (b'{"v":1,"id":"c10","kind":"config","args":{"settings":[]}}', "non-empty table"),
    ],
)
def test_bad_commands_get_a_reason_never_an_exception(
    tmp_path: Path, payload: bytes, reason: str
) -> None:
    h = Harness(tmp_path)
    reply = h.send(payload)
    assert not reply.ok
    assert reason in reply.reason
    assert h.replies == [reply]
    if b'"id":"c' in payload:
        assert reply.command_id == json.loads(payload)["id"]


def test_handlers_log_level_and_redelivery(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    runs: list[dict[str, Any]] = []

    async def print_job(args: dict[str, Any]) -> str:
        runs.append(args)
        if args.get("fail"):
            raise CommandRejected("printer out of paper")
        return "queued as job 7"

    h.downlink.register("print", print_job)
    ok = h.send(Command(id="p1", kind="print", args={"doc": "x"}).model_dump(mode="json"))
    again = h.send(Command(id="p1", kind="print", args={"doc": "x"}).model_dump(mode="json"))
    assert (ok.ok, ok.reason) == (True, "queued as job 7")
    assert not again.ok
    assert "already received" in again.reason
    assert len(runs) == 1  # a redelivered command is not run twice
    fail = h.send(Command(id="p2", kind="print", args={"fail": True}).model_dump(mode="json"))
    assert (fail.ok, fail.reason) == (False, "printer out of paper")
    level = h.send({"v": 1, "id": "l1", "kind": "set_log_level", "args": {"level": "debug"}})
    assert level.ok
    assert h.levels == ["debug"]
    assert (h.downlink.received, h.downlink.rejected) == (4, 2)
    assert h.downlink.refused == {"replayed": 1}


def test_central_keys_cannot_be_pushed_and_a_signed_broker_move_applies(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    other = "A" * 43  # a well-formed key that is not central's
    swap = h.send(
        {
            "v": 1,
            "id": "k1",
            "kind": "config",
            "args": {"settings": {"downlink": {"central_keys": [other]}}},
        }
    )
    assert not swap.ok
    assert "central_keys cannot be changed" in swap.reason
    move = h.send(
        {"v": 1, "id": "k2", "kind": "config", "args": {"settings": {"mqtt": {"host": "b2"}}}}
    )
    assert move.ok, move.reason  # signed by central: a broker move is central's to make
    assert h.applied[-1].mqtt.host == "b2"
    unsigned = Command(id="k3", kind="config", args={"settings": {"mqtt": {"host": "evil"}}})
    refused = asyncio.run(h.downlink.handle(unsigned.model_dump_json().encode()))
    assert not refused.ok
    assert "not signed" in refused.reason
    assert h.store.current.mqtt.host == "b2"
