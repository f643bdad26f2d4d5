"""The demo's payments part against a real central: three bills paid three ways, each paid
once, and the day's reconciliation with nothing left over."""

from __future__ import annotations

from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.payments import ledger
from m2c.payments_demo import PaymentsDemo
from tests.support.auth import api_key
from tests.support.broker import free_port
from tests.support.central_app import serve


def test_the_demo_pays_three_bills_and_reconciles(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    port = free_port()
    demo = PaymentsDemo(f"http://127.0.0.1:{port}")
    try:
        app = create_app(engine, payments=demo.settings)
        with serve(app, port=port):
            text = demo.run(engine, api_key=api_key(engine, Role.ADMIN, name="demo"))
    finally:
        demo.stop()
    assert text.count(": paid") == 3, text
    assert "reconciliation vnpay" in text
    assert text.count("1 matched, 0 suggested, 0 + 0 unmatched") == 2, text
    with Session(engine) as s:
        assert ledger.totals(s).balances
    engine.dispose()
