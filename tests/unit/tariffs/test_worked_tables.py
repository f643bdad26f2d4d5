"""Bills worked by hand from the decisions (REFERENCE §4), one table per shipped tariff.

Each case writes the arithmetic out; the engine must agree to the đồng (or fen).
Dates: a period runs from the previous reading (period_start) to the reading (period_end);
N = days between them; T = days of the calendar month before the reading date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from central.tariffs import QuoteError, Usage, quote
from central.tariffs.catalog import Catalog, load_dir


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_dir()


def q(
    catalog: Catalog,
    code: str,
    consumption: int | str,
    start: date,
    end: date,
    *,
    households: int = 1,
    persons: int | None = None,
    prior: int = 0,
) -> tuple[list[tuple[Decimal, Decimal, int]], list[tuple[str, int, int]], int]:
    result = quote(
        catalog[code],
        Usage(
            Decimal(consumption),
            start,
            end,
            households=households,
            persons=persons,
            prior_consumption=Decimal(prior),
        ),
    )
    lines = [(ln.quantity, ln.unit_price, ln.amount) for ln in result.lines]
    taxes = [(t.code, t.base, t.amount) for t in result.taxes]
    assert result.total == sum(a for *_, a in lines) + sum(a for *_, a in taxes)
    return lines, taxes, result.total


D = Decimal


def test_evn_1279_whole_month(catalog: Catalog) -> None:
    # 2025-06-01 → 2025-07-01: N = 30, T = June = 30: whole month, widths 50/50/100/100/100.
    # 50×1984 = 99,200; 50×2050 = 102,500; 100×2380 = 238,000; 50×2998 = 149,900
    # subtotal 589,600; VAT 8% (2025) = 47,168; total 636,768
    lines, taxes, total = q(catalog, "evn-residential", 250, date(2025, 6, 1), date(2025, 7, 1))
    assert lines == [
        (D(50), D(1984), 99_200),
        (D(50), D(2050), 102_500),
        (D(100), D(2380), 238_000),
        (D(50), D(2998), 149_900),
    ]
    assert taxes == [("vat", 589_600, 47_168)]
    assert total == 636_768


def test_evn_not_a_whole_month_prorates_tier_widths(catalog: Catalog) -> None:
    # 2025-06-14 → 2025-07-01: N = 17, T = 30 (June).
    # widths: 50×17/30 = 28.33 → 28; 28; 100×17/30 = 56.67 → 57; 57; 57.
    # 150 kWh: 28×1984 = 55,552; 28×2050 = 57,400; 57×2380 = 135,660;
    #          150−28−28−57 = 37 × 2998 = 110,926
    # subtotal 359,538; VAT 8% = 28,763.04 → 28,763; total 388,301
    lines, taxes, total = q(catalog, "evn-residential", 150, date(2025, 6, 14), date(2025, 7, 1))
    assert lines == [
        (D(28), D(1984), 55_552),
        (D(28), D(2050), 57_400),
        (D(57), D(2380), 135_660),
        (D(37), D(2998), 110_926),
    ]
    assert taxes == [("vat", 359_538, 28_763)]
    assert total == 388_301


def test_evn_price_change_inside_the_period(catalog: Catalog) -> None:
    # QĐ 1279 starts 2025-05-10. Period 2025-04-20 → 2025-05-20: T(period) = 30 days,
    # Nc = 20 (to the change), Nm = 10. S = 300 kWh.
    # old-price kWh = round(300/30×20) = 200; new-price kWh = 100.
    # Month before the reading date = April = 30 days.
    # Old part widths ×20/30: 33.3→33, 33, 66.7→67, 67, 67:
    #   33×1893 = 62,469; 33×1956 = 64,548; 67×2271 = 152,157; (200−133) 67×2860 = 191,620
    #   = 470,794
    # New part widths ×10/30: 16.7→17, 17, 33.3→33, 33, 33:
    #   17×1984 = 33,728; 17×2050 = 34,850; 33×2380 = 78,540; 33×2998 = 98,934 = 246,052
    # subtotal 716,846; VAT 8% = 57,347.68 → 57,348; total 774,194
    lines, taxes, total = q(catalog, "evn-residential", 300, date(2025, 4, 20), date(2025, 5, 20))
    assert lines == [
        (D(33), D(1893), 62_469),
        (D(33), D(1956), 64_548),
        (D(67), D(2271), 152_157),
        (D(67), D(2860), 191_620),
        (D(17), D(1984), 33_728),
        (D(17), D(2050), 34_850),
        (D(33), D(2380), 78_540),
        (D(33), D(2998), 98_934),
    ]
    assert taxes == [("vat", 716_846, 57_348)]
    assert total == 774_194


def test_evn_two_households_on_one_meter(catalog: Catalog) -> None:
    # h = 2 doubles every width: 100/100/200/200/200. Whole month June 2025, 350 kWh:
    # 100×1984 = 198,400; 100×2050 = 205,000; 150×2380 = 357,000; subtotal 760,400;
    # VAT 8% = 60,832; total 821,232
    lines, taxes, total = q(
        catalog, "evn-residential", 350, date(2025, 6, 1), date(2025, 7, 1), households=2
    )
    assert lines == [
        (D(100), D(1984), 198_400),
        (D(100), D(2050), 205_000),
        (D(150), D(2380), 357_000),
    ]
    assert taxes == [("vat", 760_400, 60_832)]
    assert total == 821_232


def test_evn_two_households_not_a_whole_month(catalog: Catalog) -> None:
    # h = 2, 2025-06-14 → 2025-07-01 (N = 17, T = 30): widths round(50×17/30×2) = 56.67 → 57,
    # 57, round(100×17/30×2) = 113.3 → 113. 150 kWh: 57×1984 = 113,088; 57×2050 = 116,850;
    # 36×2380 = 85,680; subtotal 315,618; VAT 8% = 25,249.44 → 25,249; total 340,867
    lines, _taxes, total = q(
        catalog, "evn-residential", 150, date(2025, 6, 14), date(2025, 7, 1), households=2
    )
    assert lines == [(D(57), D(1984), 113_088), (D(57), D(2050), 116_850), (D(36), D(2380), 85_680)]
    assert total == 340_867


def test_evn_2699_under_decree_72_2024(catalog: Catalog) -> None:
    # QĐ 2699, 2024-11-15 → 2024-12-15 (N = 30, T = November = 30), 120 kWh:
    # 50×1893 = 94,650; 50×1956 = 97,800; 20×2271 = 45,420; subtotal 237,870;
    # VAT 8% (Decree 72/2024/NĐ-CP, 2024-07-01 to 2024-12-31) = 19,029.6 → 19,030;
    # total 256,900
    lines, taxes, total = q(catalog, "evn-residential", 120, date(2024, 11, 15), date(2024, 12, 15))
    assert [a for *_, a in lines] == [94_650, 97_800, 45_420]
    assert taxes == [("vat", 237_870, 19_030)]
    assert total == 256_900


@pytest.mark.parametrize("code", ["evn-residential", "evn-prepaid"])
@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2022, 1, 31), "0.10"),  # before Decree 15/2022
        (date(2022, 2, 1), "0.08"),  # Decree 15/2022/NĐ-CP
        (date(2023, 3, 10), "0.10"),  # 2023-01-01..06-30: no reduction
        (date(2023, 7, 1), "0.08"),  # Decree 44/2023/NĐ-CP
        (date(2024, 3, 10), "0.08"),  # Decree 94/2023/NĐ-CP
        (date(2024, 7, 1), "0.08"),  # Decree 72/2024/NĐ-CP
        (date(2024, 12, 31), "0.08"),
        (date(2025, 3, 10), "0.08"),  # Decree 180/2024/NĐ-CP
        (date(2026, 12, 31), "0.08"),  # Decree 174/2025/NĐ-CP
        (date(2027, 1, 1), "0.10"),
    ],
)
def test_evn_vat_periods_follow_the_decrees(
    catalog: Catalog, code: str, day: date, rate: str
) -> None:
    for version in catalog[code].versions:
        vat = next(t for t in version.taxes if t.code == "vat")
        assert vat.rate_on(day) == D(rate)


def test_evn_vat_returns_to_ten_percent_in_2027(catalog: Catalog) -> None:
    # 2027-01-01 → 2027-02-01 (T = December = 31, N = 31), 50 kWh: 50×1984 = 99,200;
    # VAT 10% = 9,920; total 109,120
    _, taxes, total = q(catalog, "evn-residential", 50, date(2027, 1, 1), date(2027, 2, 1))
    assert taxes == [("vat", 99_200, 9_920)]
    assert total == 109_120


def test_evn_before_the_first_version_is_refused(catalog: Catalog) -> None:
    with pytest.raises(QuoteError, match="no version in force on 2024-01-01"):
        q(catalog, "evn-residential", 10, date(2024, 1, 1), date(2024, 2, 1))


def test_evn_prepaid_flat(catalog: Catalog) -> None:
    # 123 kWh × 2,909 = 357,807; VAT 8% = 28,624.56 → 28,625; total 386,432
    lines, taxes, total = q(catalog, "evn-prepaid", 123, date(2025, 6, 1), date(2025, 7, 1))
    assert lines == [(D(123), D(2909), 357_807)]
    assert taxes == [("vat", 357_807, 28_625)]
    assert total == 386_432


HCMC = [
    # persons, m³, lines, subtotal, VAT 5%, drainage 30%, VAT 8% on drainage, total
    # 4 persons, 20 m³: norm 16 m³ × 6,700 = 107,200; 4 × 12,900 = 51,600 → 158,800;
    #   VAT 7,940; drainage 47,640; its VAT 3,811.2 → 3,811; total 218,191
    (4, 20, [(16, 6700, 107_200), (4, 12900, 51_600)], 158_800, 7_940, 47_640, 3_811, 218_191),
    # 1 person, 10 m³: 4×6,700 = 26,800; 2×12,900 = 25,800; 4×14,400 = 57,600 → 110,200;
    #   VAT 5,510; drainage 33,060; its VAT 2,644.8 → 2,645; total 151,415
    (
        1,
        10,
        [(4, 6700, 26_800), (2, 12900, 25_800), (4, 14400, 57_600)],
        110_200,
        5_510,
        33_060,
        2_645,
        151_415,
    ),
    # 3 persons, 30 m³: 12×6,700 = 80,400; 6×12,900 = 77,400; 12×14,400 = 172,800 → 330,600;
    #   VAT 16,530; drainage 99,180; its VAT 7,934.4 → 7,934; total 454,244
    (
        3,
        30,
        [(12, 6700, 80_400), (6, 12900, 77_400), (12, 14400, 172_800)],
        330_600,
        16_530,
        99_180,
        7_934,
        454_244,
    ),
    # unregistered (0 persons), 5 m³: norm 0 → 5×14,400 = 72,000; VAT 3,600; drainage 21,600;
    #   its VAT 1,728; total 98,928
    (0, 5, [(5, 14400, 72_000)], 72_000, 3_600, 21_600, 1_728, 98_928),
]


@pytest.mark.parametrize(("persons", "m3", "lines", "sub", "vat", "drain", "dvat", "total"), HCMC)
def test_hcmc_water_households(
    catalog: Catalog,
    persons: int,
    m3: int,
    lines: list[tuple[int, int, int]],
    sub: int,
    vat: int,
    drain: int,
    dvat: int,
    total: int,
) -> None:
    got_lines, taxes, got_total = q(
        catalog, "hcmc-water-residential", m3, date(2025, 6, 1), date(2025, 7, 1), persons=persons
    )
    assert got_lines == [(D(a), D(b), c) for a, b, c in lines]
    assert taxes == [("vat", sub, vat), ("drainage", sub, drain), ("drainage_vat", drain, dvat)]
    assert got_total == total


def test_hcmc_water_needs_persons(catalog: Catalog) -> None:
    with pytest.raises(QuoteError, match="persons"):
        q(catalog, "hcmc-water-residential", 5, date(2025, 6, 1), date(2025, 7, 1))


def test_hcmc_water_poor_households(catalog: Catalog) -> None:
    # 2 persons, 10 m³: 8×6,300 = 50,400; 2×12,900 = 25,800 → 76,200; VAT 3,810;
    # drainage 22,860; its VAT 1,828.8 → 1,829; total 104,699
    lines, _taxes, total = q(
        catalog, "hcmc-water-poor", 10, date(2025, 6, 1), date(2025, 7, 1), persons=2
    )
    assert lines == [(D(8), D(6300), 50_400), (D(2), D(12900), 25_800)]
    assert total == 104_699


@pytest.mark.parametrize(
    ("code", "price", "total"),
    [
        # 10 m³ × 13,000 = 130,000; VAT 6,500; drainage 39,000; its VAT 3,120 → 178,620
        ("hcmc-water-administrative", 13_000, 178_620),
        # 10 × 12,100 = 121,000; VAT 6,050; drainage 36,300; its VAT 2,904 → 166,254
        ("hcmc-water-production", 12_100, 166_254),
        # 10 × 21,300 = 213,000; VAT 10,650; drainage 63,900; its VAT 5,112 → 292,662
        ("hcmc-water-business", 21_300, 292_662),
    ],
)
def test_hcmc_water_other_categories(catalog: Catalog, code: str, price: int, total: int) -> None:
    lines, _, got = q(catalog, code, 10, date(2025, 6, 1), date(2025, 7, 1))
    assert lines == [(D(10), D(price), 10 * price)]
    assert got == total


def test_hcmc_drainage_fee_is_dated(catalog: Catalog) -> None:
    # The 2025 version read in 2027: drainage 30%, its VAT back to 10%.
    # 10 m³ × 13,000 = 130,000; VAT 6,500; drainage 39,000; its VAT 3,900; total 179,400
    _, taxes, total = q(
        catalog, "hcmc-water-administrative", 10, date(2027, 1, 1), date(2027, 2, 1)
    )
    assert taxes == [
        ("vat", 130_000, 6_500),
        ("drainage", 130_000, 39_000),
        ("drainage_vat", 39_000, 3_900),
    ]
    assert total == 179_400


def test_camau_city_11_m3(catalog: Catalog) -> None:
    # 10×6,000 = 60,000; 1×7,450 = 7,450 → 67,450; VAT 5% = 3,372.5 → 3,373;
    # environmental fee 10% = 6,745; total 77,568. (A published bill of 78,255 for 11 m³
    # carries fee lines this table does not explain: REFERENCE §4.)
    lines, taxes, total = q(catalog, "camau-water-city", 11, date(2023, 7, 1), date(2023, 8, 1))
    assert lines == [(D(10), D(6000), 60_000), (D(1), D(7450), 7_450)]
    assert taxes == [("vat", 67_450, 3_373), ("environment", 67_450, 6_745)]
    assert total == 77_568


def test_camau_city_all_blocks(catalog: Catalog) -> None:
    # 35 m³: 60,000 + 10×7,450 = 74,500 + 10×8,250 = 82,500 + 5×9,100 = 45,500 → 262,500;
    # VAT 13,125; environment 26,250; total 301,875
    lines, _, total = q(catalog, "camau-water-city", 35, date(2023, 7, 1), date(2023, 8, 1))
    assert [a for *_, a in lines] == [60_000, 74_500, 82_500, 45_500]
    assert total == 301_875


def test_camau_district(catalog: Catalog) -> None:
    # 25 m³: 10×5,900 = 59,000; 10×7,150 = 71,500; 5×7,900 = 39,500 → 170,000;
    # VAT 8,500; environment 17,000; total 195,500
    lines, _, total = q(catalog, "camau-water-district", 25, date(2024, 3, 1), date(2024, 4, 1))
    assert [a for *_, a in lines] == [59_000, 71_500, 39_500]
    assert total == 195_500


def test_zhejiang_annual_tiers_over_a_year(catalog: Catalog) -> None:
    # 5,000 kWh in 2024, in fen: 2,760×53.8 = 148,488; 2,040×58.8 = 119,952;
    # 200×83.8 = 16,760; total 285,200 fen = 2,852.00 yuan (prices include VAT).
    lines, taxes, total = q(
        catalog, "zhejiang-residential", 5000, date(2024, 1, 1), date(2025, 1, 1)
    )
    assert lines == [
        (D(2760), D("53.8"), 148_488),
        (D(2040), D("58.8"), 119_952),
        (D(200), D("83.8"), 16_760),
    ]
    assert taxes == []
    assert total == 285_200


def test_zhejiang_monthly_bill_continues_the_year(catalog: Catalog) -> None:
    # 2,700 kWh used earlier in the year; 100 kWh in December:
    # 60×53.8 = 3,228 fen; 40×58.8 = 2,352 fen; total 5,580 fen
    lines, _, total = q(
        catalog, "zhejiang-residential", 100, date(2024, 12, 1), date(2025, 1, 1), prior=2700
    )
    assert lines == [(D(60), D("53.8"), 3_228), (D(40), D("58.8"), 2_352)]
    assert total == 5_580


def test_fractional_fen_rounds_once_per_line(catalog: Catalog) -> None:
    # 7 kWh × 53.8 fen = 376.6 → 377 fen (half up, once)
    lines, _, total = q(catalog, "zhejiang-residential", 7, date(2024, 1, 1), date(2024, 2, 1))
    assert lines == [(D(7), D("53.8"), 377)]
    assert total == 377


@pytest.mark.parametrize(
    ("day", "rate"),
    [(date(2023, 3, 10), "0.10"), (date(2023, 9, 10), "0.08"), (date(2024, 9, 10), "0.08")],
)
def test_hcmc_drainage_vat_follows_the_same_decrees(catalog: Catalog, day: date, rate: str) -> None:
    for code in catalog:
        if code.startswith("hcmc-water-"):
            tax = next(t for t in catalog[code].versions[0].taxes if t.code == "drainage_vat")
            assert tax.rate_on(day) == D(rate), code
