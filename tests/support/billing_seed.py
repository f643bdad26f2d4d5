"""Synthetic customers, meters and readings for billing tests and the benchmark.

Deterministic for a given seed. A realistic mix: EVN households (some with two households on
one meter), HCMC water households by registered persons (some unregistered), HCMC business and
administrative water, Cà Mau water. A few accounts have no closing reading (estimated from
history), a few roll their register over, a few have no reading at all (skipped).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, insert, text

from central.db.models.readings import ReadingRow
from central.db.models.records import CustomerRow, MeterRow, RouteRow, UtilityRow
from central.records.customers import BEN_THANH

MIX = [
    # tariff, share, quantity, typical monthly use
    ("evn-residential", 0.55, "energy_import", 250),
    ("hcmc-water-residential", 0.30, "volume", 18),
    ("hcmc-water-business", 0.05, "volume", 40),
    ("hcmc-water-administrative", 0.04, "volume", 60),
    ("camau-water-city", 0.06, "volume", 15),
]
LOCAL = timedelta(hours=7)


@dataclass(frozen=True)
class Seeded:
    accounts: int
    readings: int
    no_closing: int
    no_readings: int
    rollovers: int


def _ts(day: date) -> datetime:
    """09:30 local time (UTC+7) on ``day``, in UTC."""
    return datetime.combine(day, time(9, 30), UTC) - LOCAL


def seed(
    engine: Engine,
    n: int,
    *,
    period: tuple[date, date] = (date(2025, 6, 12), date(2025, 7, 12)),
    routes: int = 10,
    seed_value: int = 1,
    batch: int = 50_000,
    spread: str = "narrow",
) -> Seeded:
    """``spread="narrow"``: each tariff's use around its typical month (most quotes repeat);
    ``"wide"``: a long-tailed log-normal use (a small shop beside a household, a leak), so
    far fewer accounts share a quote."""
    rnd = random.Random(seed_value)
    start, end = period
    history = start - timedelta(days=30)
    now = datetime(2025, 7, 13, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(UtilityRow), [BEN_THANH.model_dump()])
        conn.execute(
            insert(RouteRow),
            [
                {
                    "id": r + 1,
                    "code": f"R{r + 1:03d}",
                    "name": f"route {r + 1}",
                    "station_id": None,
                    "reading_day": end.day,
                    "reader": "",
                }
                for r in range(routes)
            ],
        )
    weights = [m[1] for m in MIX]
    readings = no_closing = no_readings = rollovers = 0
    for base in range(0, n, batch):
        customers, meters, rows = [], [], []
        for i in range(base + 1, min(base + batch, n) + 1):
            code, _share, quantity, typical = rnd.choices(MIX, weights)[0]
            persons = (
                rnd.choice([0, 1, 2, 3, 4, 4, 5, 6]) if code.startswith("hcmc-water-res") else 0
            )
            households = 2 if code == "evn-residential" and rnd.random() < 0.05 else 1
            customers.append(
                {
                    "id": i,
                    "utility_code": "ben-thanh",
                    "account_no": f"0{1 + 2 * (i % 2)}{i:09d}",
                    "name": f"Khách hàng {i}",
                    "address": "",
                    "phone": "",
                    "category": "residential",
                    "tariff_code": code,
                    "persons": persons,
                    "households": households,
                    "industry": "",
                    "payment_method": "cash",
                    "status": "active",
                    "premise_id": None,
                    "route_id": i % routes + 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            digits = 6 if quantity == "energy_import" else 5
            meter_id = f"M{i:08d}"
            meters.append(
                {
                    "id": i,
                    "meter_id": meter_id,
                    "quantity": quantity,
                    "customer_id": i,
                    "brand": "",
                    "serial": "",
                    "size": "",
                    "digits": digits,
                    "multiplier": 1,
                    "installed_on": None,
                    "calibrated_on": None,
                    "replaced_on": None,
                    "installer": "",
                    "status": "active",
                }
            )
            # fates by index, so a small seed has every case: 0.2% without any reading,
            # 0.4% rolling over, 0.5% without a closing reading (estimated)
            if i % 500 == 7:
                no_readings += 1
                continue
            if spread == "wide":
                used = min(10 ** (digits - 1), int(rnd.lognormvariate(math.log(typical), 1.2)))
            else:
                used = max(0, int(rnd.gauss(typical, typical / 3)))
            if i % 250 == 11:
                opening = 10**digits - rnd.randint(1, max(2, used))
                rollovers += 1
            else:
                opening = rnd.randint(0, 10**digits // 2)
            earlier = max(0, opening - max(0, int(rnd.gauss(typical, typical / 3))))
            closing = (opening + used) % 10**digits
            points = [(history, earlier), (start, opening)]
            if i % 200 == 3:
                no_closing += 1
            else:
                points.append((end, closing))
            for day, value in points:
                rows.append(
                    {
                        "meter_id": meter_id,
                        "quantity": quantity,
                        "ts": _ts(day),
                        "value": float(value) + 0.25,
                        "unit": "",
                        "quality": "",
                        "source": "gateway",
                        "gateway_id": None,
                        "seq": None,
                        "received_at": now,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(CustomerRow.__table__), customers)  # type: ignore[arg-type]
            conn.execute(insert(MeterRow.__table__), meters)  # type: ignore[arg-type]
            if rows:
                conn.execute(insert(ReadingRow.__table__), rows)  # type: ignore[arg-type]
        readings += len(rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("customers", "meters", "routes"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return Seeded(n, readings, no_closing, no_readings, rollovers)
