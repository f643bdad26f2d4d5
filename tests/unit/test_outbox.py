"""The outbox on a real SQLite file: messages, acknowledgement, quota, integrity recovery."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from contract.mqtt import Event
from gateway.outbox import Outbox, Quota
from tests.support.readings import number, reading


def _open(path: Path, **kw: object) -> Outbox:
    return Outbox(path, gateway_id="gw-t", **kw)  # type: ignore[arg-type]


def _drain(box: Outbox, channel: str = "readings") -> list[int]:
    out = []
    while (m := box.next_message(channel, max_items=1000, max_bytes=10**6)) is not None:  # type: ignore[arg-type]
        out += [number(r) for r in m.readings()]
        box.acknowledge([m.msg])
    return out


def test_items_leave_only_on_acknowledgement_and_resend_keeps_seq(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db")
    box.put([reading(k) for k in range(10)])
    first = box.next_message("readings", max_items=4, max_bytes=10**6)
    second = box.next_message("readings", max_items=4, max_bytes=10**6)
    assert first is not None
    assert second is not None
    assert [number(r) for r in first.readings()] == [0, 1, 2, 3]
    assert (first.seq, second.seq) == (0, 1)
    box.close()
    # A restart: both messages come back, same numbers, same content, in order.
    box = _open(tmp_path / "o.db")
    pending = box.pending_messages()
    assert [(m.seq, m.bodies) for m in pending] == [(0, first.bodies), (1, second.bodies)]
    assert box.acknowledge([second.msg]) == 4
    assert box.acknowledge([second.msg]) == 0  # a duplicate PUBACK
    assert box.stats().depth == 6
    third = box.next_message("readings", max_items=100, max_bytes=10**6)
    assert third is not None
    assert third.seq == 2
    assert [number(r) for r in third.readings()] == [8, 9]
    assert box.acknowledge([first.msg, third.msg]) == 6
    s = box.stats()
    assert (s.depth, s.written, s.acked, s.inflight) == (0, 10, 10, 0)


def test_message_size_is_bounded_in_bytes(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db")
    box.put([reading(k) for k in range(100)])
    one = len(reading(0).model_dump_json()) + 1
    m = box.next_message("readings", max_items=1000, max_bytes=one * 10 + 5)
    assert m is not None
    assert len(m.bodies) == 10
    huge = box.next_message("readings", max_items=1000, max_bytes=1)
    assert huge is not None
    assert len(huge.bodies) == 1


def test_channels_have_their_own_sequences(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db")
    box.put([reading(1)])
    box.put_bodies("payments", ['{"payment_id":"p1"}', '{"payment_id":"p2"}'])
    r = box.next_message("readings", max_items=10, max_bytes=10**6)
    p = box.next_message("payments", max_items=10, max_bytes=10**6)
    assert r is not None
    assert p is not None
    assert (r.seq, p.seq, p.bodies) == (0, 0, ('{"payment_id":"p1"}', '{"payment_id":"p2"}'))
    assert box.stats().by_channel == {"replies": 0, "events": 0, "payments": 2, "readings": 1}


def test_quota_drops_instantaneous_values_first_and_reports_it(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db", quota=Quota(max_items=200))
    box.put_bodies("payments", ['{"payment_id":"p"}'] * 20)
    box.put([reading(k, quantity="voltage_l1") for k in range(100)])
    box.put([reading(k, quantity="energy_import") for k in range(100, 180)])
    assert box.stats().dropped == 0
    box.put([reading(k, quantity="energy_import") for k in range(180, 230)])  # 250 > 200
    stats = box.stats()
    kept = _drain(box)
    assert stats.dropped == 250 - 190  # down to 95 % of the quota
    assert stats.depth == 190 + 1  # and the report of it
    assert stats.by_channel["payments"] == 20  # payments are never dropped
    # The oldest voltage readings went; every energy reading is still there.
    assert kept == list(range(stats.dropped, 230))
    events = [Event.model_validate_json(b) for b in _bodies(box, "events")]
    assert [e.kind for e in events] == ["outbox_dropped"]
    assert events[0].detail["count"] == stats.dropped
    assert events[0].detail["by_class"] == {"instantaneous": stats.dropped}


def test_quota_reaches_cumulative_registers_last(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db", quota=Quota(max_items=100))
    box.put([reading(k, quantity="voltage_l1") for k in range(10)])
    box.put([reading(k, quantity="energy_import") for k in range(10, 120)])
    events = [Event.model_validate_json(b) for b in _bodies(box, "events")]
    assert events[0].detail["by_class"] == {"instantaneous": 10, "cumulative": 15}
    assert _drain(box) == list(range(25, 120))  # 120 down to 95: voltage first, then energy


def test_oldest_policy_ignores_the_kind_of_value(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db", quota=Quota(max_items=100, policy="oldest"))
    box.put([reading(k, quantity="energy_import") for k in range(60)])
    box.put([reading(k, quantity="voltage_l1") for k in range(60, 120)])
    assert _drain(box) == list(range(25, 120))


def test_byte_quota(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db", quota=Quota(max_bytes=256 * 1024))
    for start in range(0, 6000, 500):
        box.put([reading(k, quantity="voltage_l1") for k in range(start, start + 500)])
    stats = box.stats()
    assert stats.dropped > 0
    assert stats.file_bytes <= 256 * 1024 + 64 * 1024  # one batch past, at most
    assert stats.depth + stats.dropped == 6000 + 1 * len(_bodies(box, "events"))


def test_checkpoint_commits_with_the_readings(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db")
    assert box.checkpoint("synthetic:a") is None
    box.put([reading(1)], checkpoint=("synthetic:a", "2"))
    box.close()
    assert _open(tmp_path / "o.db").checkpoint("synthetic:a") == "2"


def test_corrupt_file_is_moved_aside_and_numbering_continues(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = _open(path, seq_block=100)
    box.put([reading(k) for k in range(3)])
    for _ in range(3):
        m = box.next_message("readings", max_items=1, max_bytes=10**6)
        assert m is not None
    box.close()
    assert json.loads((tmp_path / "o.db.seq").read_text()) == {"readings": 100}
    path.write_bytes(b"this is not an SQLite file" * 200)
    (tmp_path / "o.db-wal").unlink(missing_ok=True)
    box = _open(path)
    assert box.recovered_from is not None
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    events = [Event.model_validate_json(b) for b in _bodies(box, "events")]
    assert [(e.kind, e.severity) for e in events] == [("outbox_corrupt", "error")]
    box.put([reading(9)])
    m = box.next_message("readings", max_items=10, max_bytes=10**6)
    assert m is not None
    assert m.seq == 100


def test_damaged_pages_fail_the_check(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = _open(path)
    box.put([reading(k) for k in range(2000)])
    box.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    for i in range(4096 * 3, min(len(data), 4096 * 12)):  # scribble over b-tree pages
        data[i] = 0xA5
    path.write_bytes(bytes(data))
    box = _open(path)
    assert box.recovered_from is not None
    assert box.stats().by_channel["events"] == 1


def _bodies(box: Outbox, channel: str) -> list[str]:
    out: list[str] = []
    while (m := box.next_message(channel, max_items=1, max_bytes=10**6)) is not None:  # type: ignore[arg-type]
        out += m.bodies
        box.acknowledge([m.msg])
    return out


def test_confirm_removes_messages_by_channel_and_sequence_ranges(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.db")
    box.put([reading(k) for k in range(50)])
    msgs = [box.next_message("readings", max_items=10, max_bytes=1 << 20) for _ in range(5)]
    assert [m.seq for m in msgs if m] == [0, 1, 2, 3, 4]
    assert box.confirm("payments", [(0, 4)]) == 0  # another channel's numbers
    assert box.confirm("readings", [(1, 2), (4, 4)]) == 30
    assert box.confirm("readings", [(1, 2)]) == 0  # again: a no-op
    assert [m.seq for m in box.pending_messages()] == [0, 3]
    assert box.message(msgs[0].msg) == msgs[0]  # type: ignore[union-attr]
    assert box.message(msgs[1].msg) is None  # type: ignore[union-attr]
    stats = box.stats()
    assert (stats.depth, stats.acked, stats.inflight) == (20, 30, 2)
    box.close()
    again = _open(tmp_path / "o.db")  # after a restart the rest is still owed
    assert [m.seq for m in again.pending_messages()] == [0, 3]
    again.close()


def test_the_quota_keeps_registers_and_drops_rates_first_by_the_longest_prefix() -> None:
    from gateway.outbox import CUMULATIVE, INSTANT, OTHER, Quota

    quota = Quota()
    assert quota.classify("volume") == CUMULATIVE
    assert quota.classify("energy_import") == CUMULATIVE
    assert quota.classify("volume_flow") == INSTANT  # a rate, though it starts with "volume"
    assert quota.classify("power_active") == INSTANT
    assert quota.classify("temperature_flow") == OTHER
