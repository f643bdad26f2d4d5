"""Store parsed messages in one transaction, idempotently.

* readings: one row per identity (meter, quantity, ts); a redelivery is a no-op, the same
  identity with a different value is recorded in ``reading_conflicts`` (the first value stays);
* gateways: last seen, retained status, highest sequence number per batched channel, and the
  gaps in it (``seq_gaps``), filled when a late message arrives;
* events, command replies: unique by their natural identity;
* field payments: exactly once by ``payment_id``; a reused id with other content is quarantined;
* anything unparseable: ``ingest_quarantine`` with its reason.

Rows are inserted in identity order so that two workers inserting overlapping batches take
their locks in the same order (no deadlock on PostgreSQL); gateway rows are locked in id order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
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
from central.ingest.gaps import advance, fill
from central.ingest.parse import Ignored, Payload, Rejected
from contract import mqtt as contract

READINGS: Table = ReadingRow.__table__  # type: ignore[assignment]
GATEWAYS: Table = GatewayRow.__table__  # type: ignore[assignment]
GAPS: Table = SeqGap.__table__  # type: ignore[assignment]
QUARANTINE: Table = QuarantineRow.__table__  # type: ignore[assignment]
PAYMENTS: Table = FieldPaymentRow.__table__  # type: ignore[assignment]
IDENTITY = ["meter_id", "quantity", "ts"]


@dataclass
class StoreResult:
    messages: int = 0
    readings_new: int = 0
    duplicates: int = 0
    conflicts: int = 0
    quarantined: int = 0
    events: int = 0
    payments_new: int = 0
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


def store(engine: Engine, items: Sequence[Payload | Rejected | Ignored]) -> StoreResult:
    """Write ``items`` in one transaction; raises SQLAlchemyError (nothing written) on failure."""
    now = datetime.now(UTC)
    result = StoreResult(messages=len(items))
    batches = [i for i in items if isinstance(i, contract.ReadingsBatch)]
    payments = [i for i in items if isinstance(i, contract.FieldPaymentBatch)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    with engine.begin() as conn:
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
                        "topic": r.topic[:256],
                        "payload": r.payload,
                        "reason": r.reason,
                        "received_at": now,
                    }
                    for r in rejected
                ],
            )
        result.quarantined = len(rejected)
    return result


def _readings(
    conn: Connection,
    batches: list[contract.ReadingsBatch],
    now: datetime,
    result: StoreResult,
) -> None:
    first: dict[tuple[str, str, datetime], dict[str, Any]] = {}
    conflicts: list[dict[str, Any]] = []
    for batch in batches:
        for r in batch.readings:
            key = (r.meter_id, r.quantity, r.ts)
            row = first.get(key)
            if row is None:
                first[key] = {
                    "meter_id": r.meter_id,
                    "quantity": r.quantity,
                    "ts": r.ts,
                    "value": r.value,
                    "unit": r.unit,
                    "quality": ",".join(r.quality),
                    "source": "gateway",
                    "gateway_id": batch.gateway_id,
                    "seq": batch.seq,
                    "received_at": now,
                }
            else:
                result.duplicates += 1
                if row["value"] != r.value:
                    conflicts.append(_conflict(key, row["value"], r.value, batch, now))
    if not first:
        return
    rows = [first[k] for k in sorted(first)]
    if conn.dialect.name == "postgresql":
        new, stored_conflicts = _readings_pg(conn, rows)
        for m, q, ts, stored, row in stored_conflicts:
            conflicts.append(
                {
                    **_conflict((m, q, ts), stored, row["value"], None, now),
                    "gateway_id": row["gateway_id"],
                    "seq": row["seq"],
                }
            )
        result.readings_new += new
        result.duplicates += len(rows) - new
    else:
        _readings_generic(conn, first, rows, now, result, conflicts)
    if conflicts:
        stmt = _insert(conn, ReadingConflict.__table__).on_conflict_do_nothing()
        conn.execute(stmt, conflicts)
        result.conflicts += len(conflicts)


def _readings_generic(
    conn: Connection,
    first: dict[tuple[str, str, datetime], dict[str, Any]],
    rows: list[dict[str, Any]],
    now: datetime,
    result: StoreResult,
    conflicts: list[dict[str, Any]],
) -> None:
    """Any database: a multi-row INSERT .. ON CONFLICT DO NOTHING RETURNING the new identities,
    then the stored values of the others, compared."""
    stmt = (
        _insert(conn, READINGS)
        .on_conflict_do_nothing(index_elements=IDENTITY)
        .returning(READINGS.c.meter_id, READINGS.c.quantity, READINGS.c.ts)
    )
    inserted = {(m, q, ts) for m, q, ts in conn.execute(stmt, rows)}
    result.readings_new += len(inserted)
    existing = [k for k in first if k not in inserted]
    result.duplicates += len(existing)
    for start in range(0, len(existing), 500):
        chunk = existing[start : start + 500]
        stored = conn.execute(
            select(READINGS.c.meter_id, READINGS.c.quantity, READINGS.c.ts, READINGS.c.value).where(
                tuple_(READINGS.c.meter_id, READINGS.c.quantity, READINGS.c.ts).in_(chunk)
            )
        )
        for m, q, ts, value in stored:
            row = first[(m, q, ts)]
            if value != row["value"]:
                conflicts.append(
                    {
                        **_conflict((m, q, ts), value, row["value"], None, now),
                        "gateway_id": row["gateway_id"],
                        "seq": row["seq"],
                    }
                )


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


def _copy_text(rows: list[dict[str, Any]]) -> bytes:
    """Rows in COPY's text format. Identifiers are pattern-checked by the contract; free text
    (unit, quality) is escaped."""
    received = rows[0]["received_at"].isoformat() if rows else ""
    lines = [
        f"{r['meter_id']}\t{r['quantity']}\t{r['ts'].isoformat()}\t{r['value']!r}\t"
        f"{r['unit'].translate(_ESCAPES)}\t{r['quality'].translate(_ESCAPES)}\tgateway\t"
        f"{r['gateway_id']}\t{r['seq']}\t{received}\n"
        for r in rows
    ]
    return "".join(lines).encode()


def _readings_pg(
    conn: Connection, rows: list[dict[str, Any]]
) -> tuple[int, list[tuple[str, str, datetime, float, dict[str, Any]]]]:
    """PostgreSQL: COPY into a per-session temporary table, then one INSERT .. SELECT .. ON
    CONFLICT DO NOTHING in identity order; conflicts are the staged rows whose stored value
    differs. Returns (rows inserted, conflicts)."""
    cols = ", ".join(STAGE_COLUMNS)
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cur:
        cur.execute(STAGE)
        with cur.copy(f"COPY ingest_stage ({cols}) FROM STDIN") as copy:
            for start in range(0, len(rows), 5000):
                copy.write(_copy_text(rows[start : start + 5000]))
        cur.execute(
            f"INSERT INTO readings ({cols}) SELECT {cols} FROM ingest_stage"
            " ORDER BY meter_id, quantity, ts"
            " ON CONFLICT (meter_id, quantity, ts) DO NOTHING"
        )
        inserted = cur.rowcount
        found = []
        if inserted < len(rows):  # only a stored identity can hold another value
            cur.execute(
                "SELECT s.meter_id, s.quantity, s.ts, r.value FROM ingest_stage s"
                " JOIN readings r USING (meter_id, quantity, ts) WHERE r.value <> s.value"
            )
            found = cur.fetchall()
    by_key = {(r["meter_id"], r["quantity"], r["ts"]): r for r in rows}
    return inserted, [(m, q, ts, v, by_key[(m, q, ts)]) for m, q, ts, v in found]


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


def _payments(
    conn: Connection, batches: list[contract.FieldPaymentBatch], now: datetime, result: StoreResult
) -> list[Rejected]:
    rows: dict[str, dict[str, Any]] = {}
    for batch in batches:
        for p in batch.payments:
            rows.setdefault(
                p.payment_id, {**p.model_dump(), "gateway_id": batch.gateway_id, "received_at": now}
            )
    if not rows:
        return []
    table = PAYMENTS
    stmt = (
        _insert(conn, table)
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(table.c.payment_id)
    )
    inserted = {pid for (pid,) in conn.execute(stmt, [rows[k] for k in sorted(rows)])}
    result.payments_new += len(inserted)
    rejected = []
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
