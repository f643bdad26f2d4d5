"""Writers at once. On SQLite a REST write that arrives while another writer (an import, the
ingest worker) holds the write lock waits and succeeds, never "database is locked"; two
creations of one record end in one row and a 409 on both databases."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

from central.api.errors import ErrorOut
from central.app import create_app
from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from tests.support.auth import key_headers
from tests.support.central_app import FIXED_NOW, serve
from tests.support.db import sqlite_url


def seen_by(began: threading.Event) -> Any:
    """A cursor listener setting ``began`` at the request's first statement of its own: the
    credential's lookup (``api_keys``, in a session of its own) does not count."""

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("BEGIN IMMEDIATE", "SELECT")) and "api_keys" not in statement:
            began.set()

    return seen


def test_a_write_during_another_writers_transaction_waits_and_succeeds(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    app = create_app(engine, clock=lambda: FIXED_NOW)
    headers = key_headers(engine, Role.ADMIN)
    holder = sqlite3.connect(engine.url.database, isolation_level=None, timeout=30)
    began = threading.Event()
    answer: list[httpx.Response] = []
    try:
        with serve(app) as base, httpx.Client(base_url=base, timeout=60, headers=headers) as client:
            # the key's first use is written now (its last use, once a minute), before the
            # other writer holds the lock
            assert client.get("/api/v1/stations").status_code == 200
            # The other writer: a transaction holding the write lock with a row not yet
            # committed.
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO stations (code, name) VALUES ('IMPORT', 'từ Excel')")
            # Let the holder commit once the request has begun its transaction (not the
            # credential's lookup, in a session of its own): a request that read first and
            # wrote later would then hold a stale snapshot and fail at its write.
            event.listen(engine, "after_cursor_execute", seen_by(began))
            event.listen(engine, "before_cursor_execute", seen_by(began))
            worker = threading.Thread(
                target=lambda: answer.append(
                    client.post("/api/v1/stations", json={"code": "Q3", "name": "Quận 3"})
                )
            )
            worker.start()
            assert began.wait(30)
            holder.execute("COMMIT")
            worker.join(60)
            assert answer, "no answer"
            assert answer[0].status_code == 201, answer[0].text
            codes = [s for (s,) in holder.execute("SELECT code FROM stations ORDER BY code")]
            assert codes == ["IMPORT", "Q3"]
    finally:
        holder.close()
        engine.dispose()


def test_two_writers_of_the_same_record_end_in_one_row_and_a_409(db_url: str) -> None:
    """The other writer inserts station Q3 and commits once the request has read: on
    PostgreSQL the request's insert then meets the unique key (IntegrityError), on SQLite it
    waited for the lock and sees the row. Either way: one row, and a 409 in the error model."""
    engine = make_engine(db_url)
    upgrade(engine)
    app = create_app(engine, clock=lambda: FIXED_NOW)
    headers = key_headers(engine, Role.ADMIN)
    began = threading.Event()
    seen = seen_by(began)
    answer: list[httpx.Response] = []
    try:
        with (
            serve(app) as base,
            httpx.Client(base_url=base, timeout=60, headers=headers) as client,
            engine.connect() as holder,
        ):
            # the key's first use is written before the other writer holds the lock
            assert client.get("/api/v1/stations").status_code == 200
            holder.execute(text("INSERT INTO stations (code, name) VALUES ('Q3', 'first')"))
            event.listen(engine, "before_cursor_execute", seen)
            event.listen(engine, "after_cursor_execute", seen)
            worker = threading.Thread(
                target=lambda: answer.append(
                    client.post("/api/v1/stations", json={"code": "Q3", "name": "second"})
                )
            )
            worker.start()
            assert began.wait(30)
            holder.commit()
            worker.join(60)
            event.remove(engine, "before_cursor_execute", seen)
            event.remove(engine, "after_cursor_execute", seen)
            names = holder.execute(text("SELECT name FROM stations WHERE code = 'Q3'")).all()
        assert answer, "no answer"
        assert answer[0].status_code == 409, answer[0].text
        ErrorOut.model_validate(answer[0].json())
        assert names == [("first",)]
    finally:
        engine.dispose()
