"""The public lookup: amount due and due date only, by account or phone, rate-limited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from central.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.records import UtilityRow
from central.records.customers import BEN_THANH
from tests.support.central_app import serve
from tests.support.channels import add_bill, add_customer


def test_lookup_shows_what_is_due_and_nothing_personal(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as s:
            s.add(UtilityRow(**BEN_THANH.model_dump()))
            a = add_customer(s, "01234567891", name="Nguyễn Văn An", phone="0901234567")
            b = add_customer(s, "01234567892", name="Lê Thị Cúc", phone="0901234567")
            add_bill(
                s,
                a,
                date(2025, 5, 12),
                80_000,
                state="paid",
                issued_at=datetime(2025, 6, 13, tzinfo=UTC),
            )
            add_bill(
                s,
                a,
                date(2025, 6, 12),
                139_000,
                state="issued",
                issued_at=datetime(2025, 7, 13, tzinfo=UTC),
            )
            add_bill(s, b, date(2025, 6, 12), 50_000, state="draft")
            s.commit()
        with serve(create_app(engine)) as base, httpx.Client(base_url=base) as client:
            one = client.get("/api/v1/lookup", params={"account": "01234567891"})
            assert one.status_code == 200
            assert one.json() == [
                {
                    "account": "01*******91",
                    "amount_due": 139_000,
                    "currency": "VND",
                    "due_date": "2025-07-28",
                }
            ]
            assert "Nguyễn" not in one.text
            by_phone = client.get("/api/v1/lookup", params={"phone": "0901234567"}).json()
            assert [d["amount_due"] for d in by_phone] == [139_000, 0]
            assert client.get("/api/v1/lookup", params={"account": "%"}).status_code == 422
            assert client.get("/api/v1/lookup").status_code == 422
            assert client.get("/api/v1/lookup", params={"account": "09999999999"}).json() == []
            statuses = [
                client.get("/api/v1/lookup", params={"account": "01234567891"}).status_code
                for _ in range(12)
            ]
            assert 429 in statuses  # ten in a burst, then thirty a minute
    finally:
        engine.dispose()
