"""Notices and receipts rendered, printed by the simulator, and compared with their content."""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.escpos import commands
from drivers.escpos.documents import BillNotice, Charge, DocumentError
from drivers.escpos.encode import EncodeError, encode
from drivers.escpos.layout import Qr, Text, layout
from drivers.escpos.profile import PROFILES, ProfileError, profile
from drivers.escpos.raster import Typeface
from drivers.escpos.template import TemplateError, load_template, template_from_dict
from drivers.vietqr import parse
from simulators.printer.machine import PrinterMachine
from tests.support.documents import sample_notice, sample_receipt
from tests.support.printout import assert_printout_shows, expected_output

TEMPLATES = Path(__file__).parents[3] / "config" / "templates"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))


def _print(data: bytes, width: int, out: Path) -> PrinterMachine:
    machine = PrinterMachine(width, out_dir=out)
    machine.receive(data)
    machine.flush()
    return machine


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
@pytest.mark.parametrize("kind", ["notice", "receipt"])
def test_printout_shows_the_document(profile_name: str, kind: str, tmp_path: Path) -> None:
    prof = profile(profile_name)
    template = load_template(TEMPLATES / f"{kind}.toml")
    doc = sample_notice() if kind == "notice" else sample_receipt(KEY)
    blocks = layout(doc, template)
    machine = _print(encode(blocks, prof, template.sizes), prof.width_dots, tmp_path)
    assert len(machine.jobs) == 1
    job = machine.jobs[0]
    assert machine.unknown_commands == 0
    assert machine.parse_errors == 0
    assert_printout_shows(job, expected_output(blocks, prof, template.sizes))
    assert job.image.width == prof.width_dots
    assert job.png is not None
    assert job.png.with_suffix(".txt").read_text().startswith("[raster")
    assert job.ended_by == ("cut" if prof.cutter else "flush")


def test_layout_carries_vietnamese_content_and_a_payable_vietqr() -> None:
    template = load_template(TEMPLATES / "notice.toml")
    blocks = layout(sample_notice(), template)
    texts = [b.text for b in blocks if isinstance(b, Text)]
    assert "THÔNG BÁO TIỀN ĐIỆN" in texts
    assert "Khách hàng: Nguyễn Thị Hồng Nhung" in texts
    assert "TỔNG CỘNG: 387.482 đ" in texts
    assert "Thu ngân: Trần Văn Bình - 0913 123 456" in texts
    assert "50 x 1.984 = 99.200" in texts
    [qr] = [b for b in blocks if isinstance(b, Qr)]
    assert parse(qr.data).amount == 387482


def test_a_different_name_does_not_match_the_printout(tmp_path: Path) -> None:
    """The comparison is sharp: one missing diacritic fails it."""
    prof = profile("generic-58")
    template = load_template(TEMPLATES / "notice.toml")
    printed = layout(sample_notice(), template)
    machine = _print(encode(printed, prof, template.sizes), prof.width_dots, tmp_path)
    wrong = layout(sample_notice(customer="Nguyễn Thi Hồng Nhung"), template)
    with pytest.raises(AssertionError, match="raster line"):
        assert_printout_shows(machine.jobs[0], expected_output(wrong, prof, template.sizes))


def test_copy_is_marked_top_and_bottom() -> None:
    template = load_template(TEMPLATES / "receipt.toml")
    blocks = layout(sample_receipt(KEY), template, copy=True)
    assert blocks[0] == blocks[-1] == Text("BẢN SAO / COPY", "center", "large", bold=True)


def test_chinese_text_prints_as_raster(tmp_path: Path) -> None:
    prof = profile("generic-58")
    template = template_from_dict(
        {
            "kind": "notice",
            "title": "电费通知单 / Thông báo",
            "fields": ["customer"],
            "labels": {"customer": "户名 Khách hàng"},
        },
        base=tmp_path,
        where="zh",
    )
    blocks = layout(sample_notice(customer="张伟"), template)
    machine = _print(encode(blocks, prof, template.sizes), prof.width_dots, tmp_path)
    assert_printout_shows(machine.jobs[0], expected_output(blocks, prof, template.sizes))


def test_receipt_fits_the_byte_budget_on_58mm() -> None:
    template = load_template(TEMPLATES / "receipt.toml")
    data = encode(layout(sample_receipt(KEY), template), profile("generic-58"), template.sizes)
    assert len(data) <= 12_000


def test_missing_glyph_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="no glyph"):
        encode(
            [Text("Khách hàng \U0001f600")],
            profile("generic-58"),
            load_template(TEMPLATES / "notice.toml").sizes,
        )


def test_typeface_wraps_long_vietnamese_lines() -> None:
    face = Typeface(20)
    lines = face.wrap("Số 12 đường Nguyễn Huệ, phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh", 384)
    assert len(lines) == 2
    assert all(face.width(x) <= 384 for x in lines)


def test_raster_alignment_by_padding_when_esc_a_is_unsupported(tmp_path: Path) -> None:
    prof = profile("generic-58")
    prof = type(prof)("pad", 384, raster_align=False)
    data = encode(
        [Text("Tiêu đề", "center", "large")], prof, load_template(TEMPLATES / "notice.toml").sizes
    )
    assert commands.align("center") not in data
    machine = _print(data, 384, tmp_path)
    [placed] = machine.jobs[0].rasters
    assert placed.x == 0
    assert 100 < placed.bitmap.width < 384


def test_template_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="'colour' is not one of"):
        template_from_dict(
            {"kind": "notice", "title": "x", "fields": ["colour"]}, base=tmp_path, where="t"
        )
    with pytest.raises(TemplateError, match="has no label"):
        template_from_dict(
            {"kind": "notice", "title": "x", "fields": ["customer"]}, base=tmp_path, where="t"
        )
    with pytest.raises(TemplateError, match="placeholder"):
        template_from_dict(
            {"kind": "notice", "title": "x", "fields": [], "header": ["{nope}"]},
            base=tmp_path,
            where="t",
        )
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = ", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"bad\.toml"):
        load_template(bad)


def test_document_totals_must_add_up() -> None:
    notice = sample_notice()
    with pytest.raises(DocumentError, match="add up"):
        BillNotice(**{**notice.__dict__, "charges": (Charge("Phí", 1),)})


def test_unknown_profile() -> None:
    with pytest.raises(ProfileError, match="generic-58"):
        profile("nope")


def test_logo_is_printed_centred(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    logo = tmp_path / "logo.png"
    img = Image.new("L", (120, 40), 255)
    ImageDraw.Draw(img).rectangle((10, 5, 100, 30), fill=0)
    img.save(logo)
    template = template_from_dict(
        {"kind": "notice", "title": "T", "fields": [], "logo": "logo.png"},
        base=tmp_path,
        where="t",
    )
    prof = profile("generic-58")
    machine = _print(
        encode(layout(sample_notice(), template), prof, template.sizes), 384, tmp_path / "out"
    )
    first = machine.jobs[0].rasters[0]
    assert first.bitmap.height == 26
    assert first.x > 100


def test_image_data_never_carries_a_real_time_command() -> None:
    from drivers.escpos.commands import raster, without_realtime
    from drivers.escpos.raster import Bitmap
    from simulators.printer.machine import PrinterMachine

    # a status request, a buffer clear and a power-off hidden in one image's rows
    data = bytes([0x10, 0x04, 0x02, 0xFF, 0x10, 0x05, 0x02, 0x10, 0x14, 0x02, 0x10, 0x10])
    assert without_realtime(data) == bytes(
        [0x00, 0x04, 0x02, 0xFF, 0x00, 0x05, 0x02, 0x00, 0x14, 0x02, 0x10, 0x10]
    )
    machine = PrinterMachine(96)
    assert machine.receive(raster(Bitmap(96, 1, data))) == b""  # no stray status answer
    assert machine.receive(b"\x10\x04\x02") != b""  # a real request is still answered


def _texts(blocks: list[object]) -> list[str]:
    return [b.text for b in blocks if isinstance(b, Text)]


def test_the_notice_shows_the_customers_phone() -> None:
    texts = _texts(layout(sample_notice(), load_template(TEMPLATES / "notice.toml")))
    assert "Điện thoại: 0939 123 456" in texts
    assert "Thu ngân: Trần Văn Bình - 0913 123 456" in texts  # left behind: who to call


def test_the_default_receipt_carries_what_a_vat_invoice_needs() -> None:
    texts = _texts(layout(sample_receipt(KEY), load_template(TEMPLATES / "receipt.toml")))
    assert "Công ty Điện lực Cà Mau" in texts  # seller, its tax code and address
    assert "MST: 2000113426" in texts
    assert "Số 99 Ngô Quyền, phường 1, TP Cà Mau" in texts
    assert "Khách hàng: Nguyễn Thị Hồng Nhung" in texts  # buyer and address
    assert "Địa chỉ: Số 12 Nguyễn Huệ, phường 2, TP Cà Mau" in texts
    assert "Bậc: số lượng x đơn giá = thành tiền (kWh)" in texts  # unit prices
    assert "1) 50 x 1.984 = 99.200" in texts
    assert "3) 66 x 2.380 = 157.080" in texts
    assert "Cộng tiền trước thuế: 358.780 đ" in texts
    assert "Thuế GTGT 8%: 28.702 đ" in texts  # rate and amount
    assert "Đã thu: 387.482 đ" in texts


def test_a_part_payment_receipt_says_of_what_total() -> None:
    from dataclasses import replace

    receipt = replace(sample_receipt(KEY), paid=100_000)
    texts = _texts(layout(receipt, load_template(TEMPLATES / "receipt.toml")))
    assert "Đã thu: 100.000 / 387.482 đ" in texts


def test_an_empty_header_placeholder_prints_no_line() -> None:
    from dataclasses import replace

    notice = sample_notice()
    bare = replace(notice, utility=replace(notice.utility, address=""))
    texts = _texts(layout(bare, load_template(TEMPLATES / "notice.toml")))
    assert "" not in texts
    assert len(texts) == len(_texts(layout(notice, load_template(TEMPLATES / "notice.toml")))) - 1


def test_profiles_from_python_escpos_capability_database() -> None:
    from drivers.escpos.capabilities import escpos_models
    from gateway.printing.config import PrinterConfig

    cheap = profile("escpos:POS-5890")  # the common 58 mm Bluetooth/USB printer
    assert (cheap.width_dots, cheap.native_qr, cheap.cutter) == (384, False, False)
    kiosk = profile("escpos:TM-T20II")
    assert (kiosk.width_dots, kiosk.native_qr, kiosk.cutter) == (576, True, True)
    assert "TM-T88V" in escpos_models()
    with pytest.raises(ProfileError, match="not in python-escpos"):
        profile("escpos:NO-SUCH-PRINTER")
    with pytest.raises(ProfileError, match="no paper width"):
        profile("escpos:default")
    config = PrinterConfig(transport="tcp", address="10.0.0.5", profile="escpos:POS-5890")
    assert config.printer_profile().width_dots == 384
    with pytest.raises(ValueError, match="escpos:<model>"):
        PrinterConfig(transport="tcp", address="10.0.0.5", profile="thermal")
