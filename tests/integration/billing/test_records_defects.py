"""Records a clerk can trust, on SQLite and PostgreSQL: one file cannot carry an account
twice, an import updates only when asked (and audited), an unknown utility is refused,
search folds accents and case as Vietnamese users type, installing a meter leaves history."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from httpx import Client
from openpyxl import Workbook

from tests.support import clerk
from tests.support.central_app import central_client

API = clerk.API
HEADER = ["account_no", "name", "tariff_code", "persons", "phone", "meter_id"]


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url) as c:
        clerk.utility(c)
        yield c


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _import(c: Client, rows: list[list[object]], **params: str) -> dict[str, object]:
    r = c.post(
        f"{API}/customers/import",
        params={"utility": "ben-thanh", **params},
        content=_xlsx([HEADER, *rows]),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_an_account_twice_in_one_file_is_an_error_on_both_rows(client: Client) -> None:
    rows: list[list[object]] = [
        ["01000000001", "Trần Thị Bích", "hcmc-water-residential", 3, "0901000001", "WM-1"],
        ["01000000002", "Lê Văn Cường", "hcmc-water-residential", 2, "", "WM-2"],
        ["01000000001", "Someone Else", "hcmc-water-residential", 9, "0999999999", "WM-3"],
    ]
    strict = _import(client, rows)
    assert strict["committed"] is False
    reason = "account 01000000001 is on rows 2, 4"
    assert strict["errors"] == [
        {"row": 2, "column": "account_no", "reason": reason},
        {"row": 4, "column": "account_no", "reason": reason},
    ]
    lenient = _import(client, rows, mode="good_rows")
    assert (lenient["created"], len(lenient["errors"])) == (1, 2)  # type: ignore[arg-type]
    assert clerk.ok(client.get(f"{API}/customers", params={"q": "01000000001"})) == []
    # nobody's meter was attached twice: the second account has exactly its own
    cust = clerk.ok(client.get(f"{API}/customers", params={"q": "01000000002"}))[0]
    meters = clerk.ok(client.get(f"{API}/customers/{cust['id']}/meters"))
    assert [(m["meter_id"], m["quantity"]) for m in meters] == [("WM-2", "volume")]


def test_updating_by_import_is_explicit_and_audited(client: Client) -> None:
    row: list[object] = ["01000000001", "Trần Thị Bích", "hcmc-water-residential", 3, "", "WM-1"]
    assert _import(client, [row])["created"] == 1
    moved: list[object] = [*row[:3], 5, "0901000001", "WM-1"]
    refused = _import(client, [moved])
    assert refused["errors"] == [
        {
            "row": 2,
            "column": "account_no",
            "reason": "account 01000000001 exists; import with existing=update to update it",
        }
    ]
    cust = clerk.ok(client.get(f"{API}/customers", params={"q": "01000000001"}))[0]
    assert cust["persons"] == 3
    updated = _import(client, [moved], existing="update")
    assert (updated["created"], updated["updated"]) == (0, 1)
    history = clerk.ok(client.get(f"{API}/customers/{cust['id']}/history"))
    changes = {
        (h["field"], h["old_value"], h["new_value"], h["changed_by"], h["reason"]) for h in history
    }
    me = clerk.ok(client.get(f"{API}/auth/me"))["name"]  # the caller, as the audit names it
    assert me.startswith("key:")
    assert ("persons", "3", "5", me, "Excel import, row 2") in changes
    assert ("phone", "", "0901000001", me, "Excel import, row 2") in changes
    # the meter installed by the first import is in the history too
    assert ("meter_installed", None, "WM-1 (volume)", me, "meter installed") in changes


def test_import_into_an_unknown_utility_is_not_found(client: Client) -> None:
    r = client.post(
        f"{API}/customers/import",
        params={"utility": "nowhere"},
        content=_xlsx([HEADER, ["01000000001", "A", "hcmc-water-residential", 1, "", "W"]]),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 404
    assert r.json()["detail"] == "no utility 'nowhere'"


def test_search_folds_accents_and_case(client: Client) -> None:
    an = clerk.customer(client, 1, name="Nguyễn Văn An")
    duc = clerk.customer(client, 2, name="Đỗ Minh Đức")
    clerk.customer(client, 3, name="Trần 100% Bích_Ngọc")

    def found(q: str) -> list[int]:
        return [c["id"] for c in clerk.ok(client.get(f"{API}/customers", params={"q": q}))]

    assert found("Nguyen") == found("nguyễn") == found("NGUYEN VAN") == [an["id"]]
    assert found("duc") == found("Do Minh") == found("đức") == [duc["id"]]
    assert found("van an") == [an["id"]]
    assert found("an nguyen") == [an["id"]]  # every word, in any order
    # LIKE wildcards match themselves only
    bich = found("100%")
    assert len(bich) == 1
    assert found("%") == found("_") == bich
    assert found("bich_ngoc") == bich
    assert found("bichxngoc") == []
