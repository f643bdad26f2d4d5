"""``m2c billing ...`` on a real database: run with workers, progress, resume, quote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.billing import runs
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from m2c.cli import main
from tests.support.billing_seed import seed


def test_run_with_two_workers_then_progress(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    seed(engine, 90, routes=2)
    code = main(
        [
            "billing",
            "run",
            "--db",
            db_url,
            "--period-start",
            "2025-06-12",
            "--period-end",
            "2025-07-12",
            "--workers",
            "2",
            "--chunk-size",
            "10",
            "--issue",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "run 1: 90 accounts" in out
    assert "run 1: done; 90/90 accounts, 89 bills, 1 skipped" in out  # account 7: no reading
    assert "issued 89 bills" in out
    assert main(["billing", "progress", "--db", db_url, "1"]) == 0
    assert "chunks 9/9" in capsys.readouterr().out
    assert main(["billing", "progress", "--db", db_url, "7"]) == 1
    with Session(engine) as s:
        assert (
            s.scalar(select(func.count()).select_from(BillRow).where(BillRow.state == "issued"))
            == 89
        )
    engine.dispose()


def test_resume_finishes_a_crashed_run(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    seed(engine, 40, routes=2)
    now = datetime.now(UTC)
    with Session(engine) as s:
        run_id = runs.create_run(
            s,
            datetime(2025, 6, 12).date(),
            datetime(2025, 7, 12).date(),
            clock=lambda: now,
            chunk_size=10,
        ).id
        assert runs.claim(s, run_id, "crashed", now=now, lease=timedelta(minutes=10))
    assert main(["billing", "resume", "--db", db_url, str(run_id)]) == 0
    assert f"run {run_id}: done; 40/40 accounts" in capsys.readouterr().out
    engine.dispose()


def test_route_must_exist(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    assert (
        main(
            [
                "billing",
                "run",
                "--db",
                db_url,
                "--period-start",
                "2025-06-12",
                "--period-end",
                "2025-07-12",
                "--route",
                "R9",
            ]
        )
        == 2
    )
    assert "no route 'R9'" in capsys.readouterr().err


def test_quote_prints_the_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "billing",
                "quote",
                "hcmc-water-residential",
                "--consumption",
                "20",
                "--period-start",
                "2025-06-01",
                "--period-end",
                "2025-07-01",
                "--persons",
                "4",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "total VND" in out
    assert "218,191" in out
    assert (
        main(
            [
                "billing",
                "quote",
                "nope",
                "--consumption",
                "1",
                "--period-start",
                "2025-06-01",
                "--period-end",
                "2025-07-01",
            ]
        )
        == 2
    )
