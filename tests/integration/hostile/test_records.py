"""Customer records under hostile input: LIKE wildcards in search, account patterns that would
backtrack, Excel sheets that lie about their size, names that would break an export."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from httpx import Client
from openpyxl import Workbook, load_workbook
from sqlalchemy import insert

from central.db.engine import make_engine
from central.db.models.records import CustomerRow
from central.records import excel


def test_like_wildcards_in_a_search_are_literal(client: Client) -> None:
    for name in ("Trần 100% Thị", "Lê_Văn"):
        r = client.post(
            "/api/v1/customers",
            json={
                "utility_code": "ben-thanh",
                "account_no": f"0300000000{len(name) % 10}",
                "name": name,
                "tariff_code": "hcmc-water-residential",
            },
        )
        assert r.status_code == 201, r.text
    names = lambda q: [c["name"] for c in client.get("/api/v1/customers", params={"q": q}).json()]  # noqa: E731
    assert names("%") == ["Trần 100% Thị"]
    assert names("_") == ["Lê_Văn"]
    assert names("\\") == []
    assert names("Nguyễn") == ["Nguyễn Văn An"]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        (r"0(?=1)\d+", "invalid perl operator"),
        ("(", "missing )"),
    ],
)
def test_an_account_pattern_re2_cannot_take_is_refused(
    client: Client, pattern: str, reason: str
) -> None:
    r = client.post(
        "/api/v1/utilities", json={"code": "bad", "name": "B", "account_pattern": pattern}
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "account_pattern"
    assert reason in r.json()["detail"]


def test_a_backtracking_pattern_costs_nothing(
    client: Client, still_works: Callable[[], None]
) -> None:
    r = client.post(
        "/api/v1/utilities", json={"code": "redos", "name": "R", "account_pattern": "(a+)+$"}
    )
    assert r.status_code == 201, r.text
    started = time.process_time()
    r = client.post(
        "/api/v1/customers",
        json={
            "utility_code": "redos",
            "account_no": "a" * 31 + "!",
            "name": "X",
            "tariff_code": "hcmc-water-residential",
        },
    )
    # Python's re needs 2^31 steps here; RE2 needs 32.
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "account_no"
    assert time.process_time() - started < 5
    still_works()


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _declare(data: bytes, ref: str) -> bytes:
    """The same workbook with its first sheet's declared dimension replaced by ``ref``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(
                    rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), body
                )
                assert n == 1
            dst.writestr(info, body)
    return out.getvalue()


HEADER = ["account_no", "name", "tariff_code"]


def test_a_sheet_declaring_a1_xfd1048576_costs_only_its_cells(
    client: Client, still_works: Callable[[], None]
) -> None:
    data = _declare(
        _xlsx([HEADER, ["01999999999", "Phạm Thị Bình", "hcmc-water-residential"]]),
        "A1:XFD1048576",
    )
    rows = list(excel.sheet_rows(data))
    assert len(rows) == 2
    assert all(len(r) <= excel.MAX_COLUMNS for r in rows)
    started = time.process_time()
    r = client.post(
        "/api/v1/customers/import",
        params={"utility": "ben-thanh"},
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert time.process_time() - started < 10  # the declared size would cost minutes
    still_works()


def test_rows_past_the_bound_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "MAX_ROWS", 5)
    data = _xlsx([HEADER] + [[f"0100000000{i}", "A", "t"] for i in range(6)])
    with pytest.raises(excel.ExcelError, match="row 7: more than 5 rows"):
        excel.read_rows(data)
    # rows that are only declared (one cell far down) count too
    far = _xlsx([HEADER, *[[None]] * 20, ["01000000001", "A", "t"]])
    with pytest.raises(excel.ExcelError, match="more than 5 rows"):
        excel.read_rows(far)


def test_a_workbook_that_unzips_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "MAX_UNZIPPED", 1000)
    with pytest.raises(excel.ExcelError, match="unzips to"):
        excel.read_rows(_xlsx([HEADER]))


def test_one_bad_name_cannot_break_the_export(client: Client, db_url: str) -> None:
    """Names stored before they were checked (a bell character, an ESC, a formula) export as
    text: the file opens and every other row is there."""
    engine = make_engine(db_url)
    now = datetime(2025, 7, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(CustomerRow),
                [
                    {
                        "utility_code": "ben-thanh",
                        "account_no": f"0100000000{i}",
                        "name": name,
                        "tariff_code": "hcmc-water-residential",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, name in enumerate(
                        ["Chuông\x07reo", "Thoát\x1b[31m", '=HYPERLINK("http://x","y")']
                    )
                ],
            )
    finally:
        engine.dispose()
    r = client.get("/api/v1/customers/export", params={"utility": "ben-thanh"})
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="ben-thanh.xlsx"'
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = {row[0].value: row[1] for row in ws.iter_rows(min_row=2)}
    assert len(cells) == 4  # three stored above and the fixture's customer
    assert cells["01000000000"].value == "Chuông_x0007_reo"
    assert cells["01000000001"].value == "Thoát_x001B_[31m"
    formula = cells["01000000002"]
    assert formula.data_type == "s"
    assert formula.value == '=HYPERLINK("http://x","y")'


def test_an_import_of_many_bad_rows_answers_in_bounded_size(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from central.api import records as api

    monkeypatch.setattr(api, "MAX_ROW_ERRORS", 10)
    bad = [[f"9{i:010d}", "x" * 500, "hcmc-water-residential"] for i in range(40)]
    r = client.post(
        "/api/v1/customers/import",
        params={"utility": "ben-thanh", "mode": "good_rows"},
        content=_xlsx([HEADER, *bad]),
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["error_count"] == 40
    assert len(report["errors"]) == 10
    assert report["created"] == 0
