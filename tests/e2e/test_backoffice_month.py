"""A month in the life of the back office, every part real (uvicorn, Mosquitto, the ingest
worker, SQLite or PostgreSQL): customers imported from Excel, water readings from the reading
app's bulk sync, electricity readings from a gateway over MQTT, a billing run per route, the
skips reviewed and fixed, an adjustment, one cancel-and-rebill, issue; then the totals
reconcile (each bill = the sum of its lines; each account billed once for the period)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import paho.mqtt.client as mqtt
from httpx import Client
from openpyxl import Workbook, load_workbook
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from central.db.engine import make_engine
from central.db.models.readings import ReadingRow
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from contract import mqtt as contract
from tests.support import clerk
from tests.support.broker import Mosquitto
from tests.support.central_app import central_client
from tests.support.mqtt import wait_for

API = clerk.API
MAY, JUNE = date(2025, 5, 10), date(2025, 6, 10)
HEADER = ["account_no", "name", "address", "tariff_code", "persons", "route_code", "meter_id"]
WATER = [  # account, name, persons, meter; used (m³) from 10/05 to 10/06
    ("01000000001", "Nguyễn Văn An", 4, "W1", 12),
    ("01000000002", "Trần Thị Bích", 2, "W2", 18),
    ("01000000003", "Lê Văn Cường", 1, "W3", 7),
    ("03000000004", "Phạm Thị Dung", 3, "W4", 25),
    ("03000000005", "Đỗ Minh Đức", 5, "W5", 9),
]
EVN = [("01000000011", "Võ Thị Hoa", "E1", 180), ("01000000012", "Hồ Văn Khánh", "E2", 320)]


def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _import(c: Client, rows: list[list[Any]], **params: str) -> dict[str, Any]:
    return clerk.ok(  # type: ignore[no-any-return]
        c.post(
            f"{API}/customers/import",
            params={"utility": "ben-thanh", **params},
            content=_xlsx([HEADER, *rows]),
            headers={"Content-Type": "application/octet-stream"},
        )
    )


def _rows() -> list[list[Any]]:
    water = [
        [a, n, f"{i} Lê Lợi, Q1", "hcmc-water-residential", p, "R1", m]
        for i, (a, n, p, m, _u) in enumerate(WATER, start=1)
    ]
    evn = [[a, n, "Q3", "evn-residential", 0, "R2", m] for a, n, m, _u in EVN]
    return water + evn


def _gateway_readings(mosquitto: Mosquitto, db_url: str) -> None:
    """The gateway at the substation publishes the EVN meters' register readings."""
    engine = make_engine(db_url)
    worker = IngestWorker(BrokerSettings(port=mosquitto.port, client_id="e2e-ingest"), engine)
    worker.start()
    try:
        assert worker.connected.wait(10)
        readings = []
        for _a, _n, meter, used in EVN:
            for day, value in ((MAY, 5000.4), (JUNE, 5000.4 + used)):
                ts = datetime.fromisoformat(clerk.at(day, 0, 0))
                readings.append(
                    contract.Reading(
                        meter_id=meter, quantity="energy_import", value=value, unit="kWh", ts=ts
                    )
                )
        batch = contract.ReadingsBatch(
            gateway_id="gw-q3", seq=0, sent_at=datetime.now(UTC), readings=tuple(readings)
        )
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-q3", protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        info = pub.publish(contract.topic("gw-q3", "readings"), batch.model_dump_json(), qos=1)
        info.wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()

        def stored() -> int:
            with engine.connect() as conn:
                q = (
                    select(func.count())
                    .select_from(ReadingRow)
                    .where(ReadingRow.source == "gateway")
                )
                return int(conn.scalar(q) or 0)

        wait_for(lambda: stored() == 4, 30, "the gateway's readings stored")
    finally:
        worker.stop()
        engine.dispose()


def test_a_month_of_the_back_office(mosquitto: Mosquitto, db_url: str) -> None:
    with central_client(db_url, now=datetime(2025, 6, 20, 3, 0, tzinfo=UTC)) as c:
        clerk.utility(c, routes=("R1", "R2"))
        # 1. import: a file with an account twice is refused as a whole, the clean one lands
        dup = [*_rows(), _rows()[0]]
        refused = _import(c, dup)
        assert refused["committed"] is False
        assert [(e["row"], e["reason"]) for e in refused["errors"]] == [
            (2, "account 01000000001 is on rows 2, 9"),
            (9, "account 01000000001 is on rows 2, 9"),
        ]
        assert _import(c, _rows())["created"] == 7
        ids = {
            cu["account_no"]: cu["id"]
            for cu in clerk.ok(c.get(f"{API}/customers", params={"limit": 100}))
        }
        meters = clerk.ok(c.get(f"{API}/meters", params={"limit": 100}))
        assert {m["meter_id"]: m["quantity"] for m in meters} == {
            "W1": "volume",
            "W2": "volume",
            "W3": "volume",
            "W4": "volume",
            "W5": "volume",
            "E1": "energy_import",
            "E2": "energy_import",
        }
        # 2. readings: the reading app syncs the water meters (W5's closing reading is late)
        batch = []
        for i, (_a, _n, _p, meter, used) in enumerate(WATER):
            gps = {"latitude": 10.77 + i / 1000, "longitude": 106.70, "reader": "Lan"}
            batch.append({"meter_id": meter, "value": 100, "ts": clerk.at(MAY), **gps})
            if meter != "W5":
                batch.append({"meter_id": meter, "value": 100 + used, "ts": clerk.at(JUNE), **gps})
        synced = clerk.ok(c.post(f"{API}/readings/sync", json={"readings": batch}))
        assert Counter(r["status"] for r in synced) == {"created": 9}
        _gateway_readings(mosquitto, db_url)
        geo = clerk.ok(
            c.get(
                f"{API}/routes/R1/readings.geojson",
                params={"period_start": "2025-06-10", "period_end": "2025-06-10"},
            )
        )
        assert len(geo["features"]) == 4
        # 3. a run per route
        r1 = clerk.run(c, MAY, JUNE, route_code="R1")
        r2 = clerk.run(c, MAY, JUNE, route_code="R2")
        assert (r1["bills"], r1["skipped"], r2["bills"], r2["skipped"]) == (4, 1, 2, 0)
        # 4. skips reviewed: W5 has no closing reading; the reader brings it, the route is run
        # again, and only W5 is billed (the others are reported as billed already)
        assert clerk.skips(c, r1["run_id"]) == {
            ids["03000000005"]: "no closing reading and no history to estimate from"
        }
        sheet = load_workbook(
            io.BytesIO(c.get(f"{API}/billing/runs/{r1['run_id']}/export").content)
        )
        assert [r[1] for r in sheet["skipped"].iter_rows(min_row=2, values_only=True)] == [
            "03000000005"
        ]
        late = {"meter_id": "W5", "value": 109, "ts": clerk.at(JUNE), "reader": "Lan"}
        assert (
            clerk.ok(c.post(f"{API}/readings/sync", json={"readings": [late]}))[0]["status"]
            == "created"
        )
        rerun = clerk.run(c, MAY, JUNE, route_code="R1")
        assert (rerun["bills"], rerun["skipped"]) == (1, 4)
        assert all(r.startswith("already billed") for r in clerk.skips(c, rerun["run_id"]).values())
        # 5. an adjustment
        an = clerk.bills_of(c, ids["01000000001"])[0]
        clerk.ok(
            c.post(
                f"{API}/bills/{an['id']}/adjustments",
                json={"amount": 5000, "reason": "meter seal replaced"},
            ),
            201,
        )
        # 6. cancel and rebill: Bích's closing reading was typed 10 m³ too high
        bich = clerk.bills_of(c, ids["01000000002"])[0]
        closing = clerk.ok(c.get(f"{API}/readings", params={"meter_id": "W2", "sort": "-ts"}))[0]
        clerk.ok(
            c.post(
                f"{API}/readings/{closing['id']}/corrections",
                json={"value": closing["value"] - 10, "reason": "photo shows 108"},
            ),
            201,
        )
        clerk.ok(c.post(f"{API}/bills/{bich['id']}/cancel", json={"reason": "index typo"}))
        new = clerk.ok(
            c.post(f"{API}/bills/{bich['id']}/rebill", json={"reason": "index typo"}), 201
        )
        assert (new["consumption"], new["replaces_id"]) == (8, bich["id"])
        # 7. issue
        for run in (r1, r2, rerun):
            clerk.ok(c.post(f"{API}/billing/runs/{run['run_id']}/issue"))
        clerk.ok(c.post(f"{API}/bills/{new['id']}/issue"))
        # 8. the totals reconcile
        standing: list[dict[str, Any]] = []
        offset = 0
        while True:
            r = c.get(f"{API}/bills", params={"limit": 3, "offset": offset})
            page = clerk.ok(r)
            standing += [b for b in page if b["state"] != "cancelled"]
            offset += 3
            if offset >= int(r.headers["X-Total-Count"]):
                break
        assert len(standing) == 7
        per_period = Counter(
            (b["customer_id"], b["period_start"], b["period_end"]) for b in standing
        )
        assert set(per_period.values()) == {1}  # no account billed twice for the period
        assert {b["customer_id"] for b in standing} == set(ids.values())
        assert {b["state"] for b in standing} == {"issued"}
        for b in standing:
            assert sum(ln["amount"] for ln in b["lines"]) == b["total"]
        lines_total = sum(ln["amount"] for b in standing for ln in b["lines"])
        assert sum(b["total"] for b in standing) == lines_total
        assert sum(b["balance"] for b in standing) == lines_total + 5000
        used = {b["account_no"]: b["consumption"] for b in standing}
        assert used == {a: u for a, _n, _p, _m, u in WATER} | {"01000000002": 8} | {
            a: u for a, _n, _m, u in EVN
        }
        # the history tells the month's story
        events = clerk.ok(c.get(f"{API}/customers/{ids['01000000001']}/events"))
        assert [e["type"] for e in events] == ["connection", "installation"]
