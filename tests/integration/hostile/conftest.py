"""A central app over a real uvicorn on SQLite and PostgreSQL, with a utility, a station, a
route, a customer and a meter; and ``still_works``, the good request that must succeed after
every hostile one."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from httpx import Client

from tests.support.central_app import central_client

BEN_THANH = {
    "code": "ben-thanh",
    "name": "Bến Thành Water Supply",
    "account_pattern": r"0[13]\d{9}",
    "account_hint": "11 digits starting 01 or 03",
}
CUSTOMER = {
    "utility_code": "ben-thanh",
    "account_no": "01234567890",
    "name": "Nguyễn Văn An",
    "address": "12 Lê Lợi, Quận 1",
    "tariff_code": "hcmc-water-residential",
    "persons": 4,
}


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url) as c:
        for path, body in (
            ("/api/v1/utilities", BEN_THANH),
            ("/api/v1/stations", {"code": "Q1", "name": "Quận 1"}),
            ("/api/v1/routes", {"code": "Q1-07", "name": "Lê Lợi", "station_code": "Q1"}),
            ("/api/v1/customers", CUSTOMER),
            (
                "/api/v1/meters",
                {
                    "meter_id": "W-0001",
                    "quantity": "volume",
                    "account_no": "01234567890",
                    "utility_code": "ben-thanh",
                },
            ),
        ):
            r = c.post(path, json=body)
            assert r.status_code == 201, (path, r.text)
        yield c


@pytest.fixture
def still_works(client: Client) -> Callable[[], None]:
    """Store a new station and read it back: the service took the hostile request in its
    stride and nothing else was lost."""
    numbers = itertools.count(1)

    def check() -> None:
        code = f"OK{next(numbers)}"
        r = client.post("/api/v1/stations", json={"code": code, "name": "Trạm tốt"})
        assert r.status_code == 201, r.text
        again = client.post("/api/v1/stations", json={"code": code, "name": "Trạm tốt"})
        assert again.status_code == 409, again.text  # it was stored

    return check
