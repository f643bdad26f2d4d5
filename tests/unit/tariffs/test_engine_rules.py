"""Rules of the engine beyond the shipped tables: time of use, bad input, bad data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from central.tariffs import QuoteError, TariffDataError, Usage, quote
from central.tariffs.catalog import load_dir, load_file
from central.tariffs.engine import days_of_month_before
from central.tariffs.schema import parse_tariff

TOU = {
    "code": "tou-test",
    "name": "business, time of use",
    "unit": "kWh",
    "versions": [
        {
            "effective_from": "2025-01-01",
            "charge": {
                "kind": "tou",
                "prices": {"off_peak": "1000", "normal": "2000", "peak": "3500"},
            },
            "taxes": [{"code": "vat", "description": "VAT", "rates": [{"rate": "0.08"}]}],
        }
    ],
}


def test_time_of_use_prices_each_band() -> None:
    tariff = parse_tariff(TOU, "test")
    bands = {"off_peak": Decimal(100), "normal": Decimal(200), "peak": Decimal(50)}
    # 100×1,000 + 200×2,000 + 50×3,500 = 100,000 + 400,000 + 175,000 = 675,000; VAT 54,000
    result = quote(tariff, Usage(Decimal(350), date(2025, 3, 1), date(2025, 4, 1), bands=bands))
    assert [ln.amount for ln in result.lines] == [100_000, 400_000, 175_000]
    assert result.total == 729_000


def test_time_of_use_bands_must_add_up() -> None:
    tariff = parse_tariff(TOU, "test")
    with pytest.raises(QuoteError, match="bands add up to 10"):
        quote(
            tariff,
            Usage(Decimal(11), date(2025, 3, 1), date(2025, 4, 1), bands={"peak": Decimal(10)}),
        )
    with pytest.raises(QuoteError, match="no band 'night'"):
        quote(
            tariff,
            Usage(Decimal(1), date(2025, 3, 1), date(2025, 4, 1), bands={"night": Decimal(1)}),
        )


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (Usage(Decimal(1), date(2025, 3, 1), date(2025, 3, 1)), "must be after"),
        (Usage(Decimal(-1), date(2025, 3, 1), date(2025, 4, 1)), "negative"),
        (Usage(Decimal(1), date(2025, 3, 1), date(2025, 4, 1), households=0), "at least 1"),
    ],
)
def test_bad_usages_are_refused_with_a_reason(usage: Usage, message: str) -> None:
    with pytest.raises(QuoteError, match=message):
        quote(load_dir()["evn-residential"], usage)


def test_month_before_the_reading_date() -> None:
    assert days_of_month_before(date(2025, 3, 15)) == 28
    assert days_of_month_before(date(2024, 3, 1)) == 29
    assert days_of_month_before(date(2025, 1, 10)) == 31


def test_bad_tariff_files_name_the_file_and_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'code = "x-1"\nname = "x"\nunit = "m3"\n[[versions]]\n'
        'effective_from = 2025-01-01\n[versions.charge]\nkind = "tiered"\n'
        'blocks = [{ width = 10, price = "1" }, { price = "-2" }]\n'
    )
    with pytest.raises(
        TariffDataError,
        match=r"bad\.toml: key 'versions\.0\.charge\.blocks\.1\."
        r"price'",
    ):
        load_file(bad)
    bad.write_text(
        'code = "x-1"\nname = "x"\nunit = "m3"\n[[versions]]\n'
        'effective_from = 2025-01-01\n[versions.charge]\nkind = "tiered"\n'
        'blocks = [{ width = 10, price = "1" }, { width = 5, price = "2" }]\n'
    )
    with pytest.raises(TariffDataError, match="last block must be unbounded"):
        load_file(bad)
    bad.write_text("code = [")
    with pytest.raises(TariffDataError, match="cannot read tariff"):
        load_file(bad)


def test_a_tax_base_must_name_an_earlier_line() -> None:
    data = dict(TOU)
    data["versions"] = [
        {
            **TOU["versions"][0],
            "taxes": [  # type: ignore[index]
                {"code": "fee_vat", "description": "x", "base": ["fee"], "rates": [{"rate": "0.1"}]}
            ],
        }
    ]
    with pytest.raises(TariffDataError, match="'fee' is neither"):
        parse_tariff(data, "test")


def test_later_versions_inherit_taxes() -> None:
    evn = load_dir()["evn-residential"]
    assert [v.source for v in evn.versions] == ["QĐ 2699/QĐ-BCT", "QĐ 1279/QĐ-BCT"]
    assert evn.versions[1].taxes == evn.versions[0].taxes
