"""Store parsed messages in one transaction, idempotently.

* readings: one row per identity (meter, quantity, ts); a redelivery is a no-op, the same
  identity with a different value is recorded in ``reading_conflicts`` (the first value stays);
* gateways: last seen, retained status, highest sequence number per batched channel, and the
  gaps in it (``seq_gaps``), filled when a late message arrives;
* events, command replies: unique by their natural identity;
* field payments: exactly once by ``payment_id``; a reused id with other content is quarantined;
  only a payment whose receipt signature verifies against its gateway's enrolled key is stored
  (see :mod:`central.ingest.receipts`): any other is quarantined with the reason and raised as a
  ``receipt_refused`` error event, and so is a receipt already counted under another id;
* statuses, events and replies dated beyond central's clock plus ``max_skew`` are quarantined
  (a retained status from the future would otherwise pin a gateway's state);
* anything unparseable: ``ingest_quarantine`` with its reason (a batch whose envelope is sound
  is stored in part: each bad reading is quarantined on its own);
* implausible values (a negative register, a value no meter register holds) are stored with the
  quality flag ``implausible``, never as good values; VEE checks them against the meter.

Rows are inserted in identity order so that two workers inserting overlapping batches take
their locks in the same order (no deadlock on PostgreSQL); gateway rows are locked in id order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from central.db.models.ingest import (
    CommandReplyRow,
    FieldPaymentRow,
    GatewayEventRow,
    GatewayRow,
    QuarantineRow,
    ReadingConflict,
    SeqGap,
)
from central.db.models.readings import ReadingRow
from central.identity.enrollment import receipt_keys
from central.ingest.gaps import advance, fill
from central.ingest.parse import Ignored, Item, Partial, Payload, Rejected, printable
from central.ingest.receipts import refusal
from contract import mqtt as contract

READINGS: Table = ReadingRow.__table__  # type: ignore[assignment]
GATEWAYS: Table = GatewayRow.__table__  # type: ignore[assignment]
GAPS: Table = SeqGap.__table__  # type: ignore[assignment]
QUARANTINE: Table = QuarantineRow.__table__  # type: ignore[assignment]
PAYMENTS: Table = FieldPaymentRow.__table__  # type: ignore[assignment]
IDENTITY = ["meter_id", "quantity", "ts"]
CUMULATIVE = ("energy", "volume", "counter", "register")
IMPLAUSIBLE_ABS = 1e12  # beyond any meter register's digits


def quality(r: contract.Reading) -> str:
    """The stored quality flags: the gateway's, plus ``implausible`` where the value cannot be
    a measurement (a negative cumulative register, or a magnitude no register holds)."""
    flags = ",".join(r.quality)
    if abs(r.value) >= IMPLAUSIBLE_ABS or (r.value < 0 and r.quantity.startswith(CUMULATIVE)):
        return f"{flags},implausible" if flags else "implausible"
    return flags


@dataclass
class StoreResult:
    messages: int = 0
    readings_new: int = 0
    duplicates: int = 0
    conflicts: int = 0
    quarantined: int = 0
    events: int = 0
    payments_new: int = 0
    payments_refused: int = 0  # bad, missing or unknown-key receipt signatures
    future_dated: int = 0  # statuses, events, replies dated beyond central's clock
    replies: int = 0
    gaps_opened: int = 0
    gaps_filled: int = 0

    def add(self, other: StoreResult) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {conn.dialect.name!r}")


def expand(items: Sequence[Item]) -> list[Payload | Rejected | Ignored]:
    out: list[Payload | Rejected | Ignored] = []
    for item in items:
        if isinstance(item, Partial):
            out.append(item.batch)
            out.extend(item.rejected)
        else:
            out.append(item)
    return out


def store(
    engine: Engine,
    parsed: Sequence[Item],
    *,
    max_skew: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> StoreResult:
    """Write ``parsed`` in one transaction; raises (nothing written) on failure."""
    now = now or datetime.now(UTC)
    result = StoreResult(messages=len(parsed))
    items = _bound_by_clock(expand(parsed), now + max_skew, result)
    batches = [i for i in items if isinstance(i, contract.ReadingsBatch)]
    payments = [i for i in items if isinstance(i, contract.FieldPaymentBatch)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    # A writer: on SQLite take the write lock at BEGIN, so a transaction that reads (keys,
    # gateways) and then writes waits for another writer instead of failing as locked.
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        _readings(conn, batches, now, result)
        rejected += _payments(conn, payments, now, result)
        _events(conn, [i for i in items if isinstance(i, contract.Event)], now, result)
        _replies(conn, [i for i in items if isinstance(i, contract.CommandReply)], now, result)
        _gateways(conn, items, now, result)
        if rejected:
            conn.execute(
                QUARANTINE.insert(),
                [
                    {
                        "topic": printable(r.topic, 256)[:256],
                        "payload": r.payload,
                        "reason": printable(r.reason, 4000),
                        "received_at": now,
                    }
                    for r in rejected
                ],
            )
        result.quarantined = len(rejected)
    return result


Seen = dict[tuple[str, str, datetime], tuple[contract.Reading, contract.ReadingsBatch]]


def _readings(
    conn: Connection,
    batches: list[contract.ReadingsBatch],
    now: datetime,
    result: StoreResult,
) -> None:
    first: Seen = {}
    conflicts: list[dict[str, Any]] = []
    for batch in batches:
        for r in batch.readings:
            key = (r.meter_id, r.quantity, r.ts)
            seen = first.get(key)
            if seen is None:
                first[key] = (r, batch)
            else:
                result.duplicates += 1
                if seen[0].value != r.value:
                    conflicts.append(_conflict(key, seen[0].value, r.value, batch, now))
    if not first:
        return
    keys = sorted(first)  # identity order: concurrent workers lock rows in the same order
    if conn.dialect.name == "postgresql":
        inserted, stored = _readings_pg(conn, [first[k] for k in keys], now)
    else:
        inserted, stored = _readings_generic(conn, first, keys, now)
    result.readings_new += inserted
    result.duplicates += len(keys) - inserted
    for key, value in stored:
        r, batch = first[key]
        if value != r.value:
            conflicts.append(_conflict(key, value, r.value, batch, now))
    if conflicts:
        stmt = _insert(conn, ReadingConflict.__table__).on_conflict_do_nothing()
        conn.execute(stmt, conflicts)
        result.conflicts += len(conflicts)


Stored = list[tuple[tuple[str, str, datetime], float]]


def _readings_generic(
    conn: Connection, first: Seen, keys: list[tuple[str, str, datetime]], now: datetime
) -> tuple[int, Stored]:
    """Any database: a multi-row INSERT .. ON CONFLICT DO NOTHING RETURNING the new identities;
    then the stored values of the others, for the conflict check."""
    rows = [
        {
            "meter_id": r.meter_id,
            "quantity": r.quantity,
            "ts": r.ts,
            "value": r.value,
            "unit": r.unit,
            "quality": quality(r),
            "source": "gateway",
            "gateway_id": batch.gateway_id,
            "seq": batch.seq,
            "received_at": now,
        }
        for r, batch in (first[k] for k in keys)
    ]
    stmt = (
        _insert(conn, READINGS)
        .on_conflict_do_nothing(index_elements=IDENTITY)
        .returning(READINGS.c.meter_id, READINGS.c.quantity, READINGS.c.ts)
    )
    inserted = {(m, q, ts) for m, q, ts in conn.execute(stmt, rows)}
    existing = [k for k in keys if k not in inserted]
    stored: Stored = []
    identity = tuple_(READINGS.c.meter_id, READINGS.c.quantity, READINGS.c.ts)
    for start in range(0, len(existing), 500):
        query = select(
            READINGS.c.meter_id, READINGS.c.quantity, READINGS.c.ts, READINGS.c.value
        ).where(identity.in_(existing[start : start + 500]))
        stored += [((m, q, ts), value) for m, q, ts, value in conn.execute(query)]
    return len(inserted), stored


STAGE_COLUMNS = (
    "meter_id",
    "quantity",
    "ts",
    "value",
    "unit",
    "quality",
    "source",
    "gateway_id",
    "seq",
    "received_at",
)
STAGE = """CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    meter_id text, quantity text, ts timestamptz, value float8, unit text, quality text,
    source text, gateway_id text, seq bigint, received_at timestamptz
) ON COMMIT DELETE ROWS"""
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows: list[tuple[contract.Reading, contract.ReadingsBatch]], now: datetime) -> bytes:
    """Rows in COPY's text format. Identifiers are pattern-checked by the contract; free text
    (unit) is escaped; quality flags are a closed set of plain words."""
    received = now.isoformat()
    return "".join(
        [
            f"{r.meter_id}\t{r.quantity}\t{r.ts.isoformat()}\t{r.value!r}\t"
            f"{r.unit.translate(_ESCAPES)}\t{quality(r)}\tgateway\t"
            f"{b.gateway_id}\t{b.seq}\t{received}\n"
            for r, b in rows
        ]
    ).encode()


def _readings_pg(
    conn: Connection, rows: list[tuple[contract.Reading, contract.ReadingsBatch]], now: datetime
) -> tuple[int, Stored]:
    """PostgreSQL: COPY (in identity order) into a per-session temporary table, then one
    INSERT .. SELECT .. ON CONFLICT DO NOTHING; the stored values that differ from the staged
    ones are looked up only when something was already there. The heap scan of a table filled
    by one COPY returns rows in the order written, so workers lock in identity order (and a
    deadlock, should one happen, is a failed transaction the worker retries)."""
    cols = ", ".join(STAGE_COLUMNS)
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cur:
        cur.execute(STAGE)
        with cur.copy(f"COPY ingest_stage ({cols}) FROM STDIN") as copy:
            for start in range(0, len(rows), 5000):
                copy.write(_copy_text(rows[start : start + 5000], now))
        cur.execute(
            f"INSERT INTO readings ({cols}) SELECT {cols} FROM ingest_stage"
            " ON CONFLICT (meter_id, quantity, ts) DO NOTHING"
        )
        inserted = int(cur.rowcount)
        found: list[tuple[str, str, datetime, float]] = []
        if inserted < len(rows):  # only a stored identity can hold another value
            cur.execute(
                "SELECT s.meter_id, s.quantity, s.ts, r.value FROM ingest_stage s"
                " JOIN readings r USING (meter_id, quantity, ts) WHERE r.value <> s.value"
            )
            found = cur.fetchall()
    return inserted, [((m, q, ts.astimezone(UTC)), v) for m, q, ts, v in found]


def _conflict(
    key: tuple[str, str, datetime],
    stored: float,
    received: float,
    batch: contract.ReadingsBatch | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "meter_id": key[0],
        "quantity": key[1],
        "ts": key[2],
        "stored_value": stored,
        "received_value": received,
        "gateway_id": batch.gateway_id if batch else None,
        "seq": batch.seq if batch else None,
        "received_at": now,
    }


Dated = contract.GatewayStatus | contract.Event | contract.CommandReply
_DATED_CHANNEL: dict[type, contract.Channel] = {
    contract.GatewayStatus: "status",
    contract.Event: "events",
    contract.CommandReply: "replies",
}


def _bound_by_clock(
    items: Sequence[Payload | Rejected | Ignored], limit: datetime, result: StoreResult
) -> list[Payload | Rejected | Ignored]:
    """Statuses, events and replies dated after ``limit`` become quarantined rejections."""
    out: list[Payload | Rejected | Ignored] = []
    for item in items:
        if isinstance(item, Dated) and item.ts > limit:
            result.future_dated += 1
            channel = _DATED_CHANNEL[type(item)]
            out.append(
                Rejected(
                    contract.topic(item.gateway_id, channel),
                    item.model_dump_json().encode(),
                    f"{channel} dated {item.ts.isoformat()}, after central's clock"
                    f" ({limit.isoformat()} with the allowed skew): refused",
                )
            )
        else:
            out.append(item)
    return out


def _refused_payment(
    gateway_id: str, payment: contract.FieldPayment, reason: str, now: datetime
) -> tuple[Rejected, dict[str, Any]]:
    """The quarantine record and the alert event of a payment that is not money."""
    rejected = Rejected(
        contract.topic(gateway_id, "payments"), payment.model_dump_json().encode(), reason
    )
    event = {
        "gateway_id": gateway_id,
        "kind": "receipt_refused",
        "ts": now,
        "subject": payment.payment_id[:128],
        "severity": "error",
        "detail": json.dumps(
            {"reason": reason, "amount": payment.amount, "receipt_no": payment.receipt_no}
        ),
        "received_at": now,
    }
    return rejected, event


def _payments(
    conn: Connection, batches: list[contract.FieldPaymentBatch], now: datetime, result: StoreResult
) -> list[Rejected]:
    rows: dict[str, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    alerts: list[dict[str, Any]] = []
    enrolled = receipt_keys(conn, (b.gateway_id for b in batches))
    receipts: dict[tuple[str, str], str] = {}
    for batch in batches:
        for p in batch.payments:
            reason = refusal(p, batch.gateway_id, enrolled)
            if reason is None:  # only a verified receipt claims its number
                counted = receipts.setdefault((batch.gateway_id, p.receipt_no), p.payment_id)
                if counted != p.payment_id:
                    reason = f"receipt {p.receipt_no} already in this batch as {counted!r}"
            if reason is not None:
                r, e = _refused_payment(batch.gateway_id, p, reason, now)
                rejected.append(r)
                alerts.append(e)
                continue
            rows.setdefault(
                p.payment_id, {**p.model_dump(), "gateway_id": batch.gateway_id, "received_at": now}
            )
    _counted_elsewhere(conn, rows, rejected, alerts, now)
    if alerts:
        result.payments_refused += len(alerts)
        stmt = _insert(conn, GatewayEventRow.__table__).on_conflict_do_nothing()
        conn.execute(stmt, alerts)
    if not rows:
        return rejected
    table = PAYMENTS
    stmt = (
        _insert(conn, table)
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(table.c.payment_id)
    )
    inserted = {pid for (pid,) in conn.execute(stmt, [rows[k] for k in sorted(rows)])}
    result.payments_new += len(inserted)
    others = [k for k in rows if k not in inserted]
    if others:
        keys = ("account", "amount", "receipt_no", "signature", "cashier")
        cols = [table.c.payment_id] + [table.c[k] for k in keys]
        for stored in conn.execute(select(*cols).where(cols[0].in_(others))):
            new = rows[stored[0]]
            if tuple(stored[1:]) != tuple(new[k] for k in keys):
                payload = json.dumps({k: new[k] for k in keys}, default=str).encode()
                rejected.append(
                    Rejected(
                        contract.topic(new["gateway_id"], "payments"),
                        payload,
                        f"payment_id {stored[0]!r} already stored with different content",
                    )
                )
    return rejected


def _counted_elsewhere(
    conn: Connection,
    rows: dict[str, dict[str, Any]],
    rejected: list[Rejected],
    alerts: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Drop from ``rows`` a receipt already stored under another payment id (counted once)."""
    if not rows:
        return
    keys = {(r["gateway_id"], r["receipt_no"]): pid for pid, r in rows.items()}
    cols = (PAYMENTS.c.gateway_id, PAYMENTS.c.receipt_no, PAYMENTS.c.payment_id)
    found = conn.execute(select(*cols).where(tuple_(*cols[:2]).in_(sorted(keys)))).all()
    for gateway_id, receipt_no, stored_id in found:
        pid = keys[(gateway_id, receipt_no)]
        if stored_id == pid:
            continue
        row = rows.pop(pid)
        payment = contract.FieldPayment.model_validate(
            {k: row[k] for k in contract.FieldPayment.model_fields}
        )
        reason = f"receipt {receipt_no} of {gateway_id} already counted as payment {stored_id!r}"
        r, e = _refused_payment(gateway_id, payment, reason, now)
        rejected.append(r)
        alerts.append(e)


def _events(
    conn: Connection, events: list[contract.Event], now: datetime, result: StoreResult
) -> None:
    if not events:
        return
    rows = [
        {
            "gateway_id": e.gateway_id,
            "kind": e.kind,
            "ts": e.ts,
            "subject": e.subject[:128],
            "severity": e.severity,
            "detail": json.dumps(e.detail, default=str),
            "received_at": now,
        }
        for e in events
    ]
    conn.execute(_insert(conn, GatewayEventRow.__table__).on_conflict_do_nothing(), rows)
    result.events += len(rows)


def _replies(
    conn: Connection, replies: list[contract.CommandReply], now: datetime, result: StoreResult
) -> None:
    if not replies:
        return
    rows = [
        {
            "gateway_id": r.gateway_id,
            "command_id": r.command_id,
            "ok": r.ok,
            "reason": r.reason,
            "ts": r.ts,
            "received_at": now,
        }
        for r in replies
    ]
    conn.execute(_insert(conn, CommandReplyRow.__table__).on_conflict_do_nothing(), rows)
    result.replies += len(rows)


def _gateways(
    conn: Connection,
    items: Sequence[Payload | Rejected | Ignored],
    now: datetime,
    result: StoreResult,
) -> None:
    per_gw: dict[str, list[Payload]] = defaultdict(list)
    for item in items:
        if not isinstance(item, Rejected | Ignored):
            per_gw[item.gateway_id].append(item)
    if not per_gw:
        return
    table = GATEWAYS
    ids = sorted(per_gw)
    conn.execute(
        _insert(conn, table).on_conflict_do_nothing(index_elements=["gateway_id"]),
        [
            {"gateway_id": g, "state": "unknown", "software": "", "last_seen": now, "messages": 0}
            for g in ids
        ],
    )
    query = select(table).where(table.c.gateway_id.in_(ids)).order_by(table.c.gateway_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    for gw in conn.execute(query).all():
        mine = per_gw[gw.gateway_id]
        values: dict[str, Any] = {"messages": gw.messages + len(mine)}
        if any(not isinstance(p, contract.GatewayStatus) or p.state == "online" for p in mine):
            values["last_seen"] = max(now, gw.last_seen)
        for status in (p for p in mine if isinstance(p, contract.GatewayStatus)):
            if gw.status_ts is None or status.ts >= gw.status_ts:
                values.update(
                    state=status.state, status_ts=status.ts, software=status.software[:64]
                )
        for channel, kind in (
            ("readings", contract.ReadingsBatch),
            ("payments", contract.FieldPaymentBatch),
        ):
            seqs = [p.seq for p in mine if isinstance(p, kind)]
            if seqs:
                values[f"{channel}_seq"] = _sequence(
                    conn, gw.gateway_id, channel, getattr(gw, f"{channel}_seq"), seqs, now, result
                )
        conn.execute(update(table).where(table.c.gateway_id == gw.gateway_id).values(**values))


def _sequence(
    conn: Connection,
    gateway_id: str,
    channel: str,
    current: int | None,
    seqs: list[int],
    now: datetime,
    result: StoreResult,
) -> int | None:
    step = advance(current, seqs)
    if step.opened:
        conn.execute(
            GAPS.insert(),
            [
                {
                    "gateway_id": gateway_id,
                    "channel": channel,
                    "first_seq": a,
                    "last_seq": b,
                    "detected_at": now,
                }
                for a, b in step.opened
            ],
        )
        result.gaps_opened += len(step.opened)
    if step.late:
        lo, hi = min(step.late), max(step.late)
        gaps = conn.execute(
            select(SeqGap.id, SeqGap.first_seq, SeqGap.last_seq, SeqGap.detected_at).where(
                SeqGap.gateway_id == gateway_id,
                SeqGap.channel == channel,
                SeqGap.first_seq <= hi,
                SeqGap.last_seq >= lo,
            )
        ).all()
        for gap_id, first, last, detected in gaps:
            pieces = [(first, last)]
            for s in step.late:
                pieces = [
                    p
                    for piece in pieces
                    for p in (fill(piece, s) if piece[0] <= s <= piece[1] else [piece])
                ]
            if pieces == [(first, last)]:
                continue
            result.gaps_filled += 1
            conn.execute(delete(SeqGap).where(SeqGap.id == gap_id))
            if pieces:
                conn.execute(
                    GAPS.insert(),
                    [
                        {
                            "gateway_id": gateway_id,
                            "channel": channel,
                            "first_seq": a,
                            "last_seq": b,
                            "detected_at": detected,
                        }
                        for a, b in pieces
                    ],
                )
    return step.new_max
