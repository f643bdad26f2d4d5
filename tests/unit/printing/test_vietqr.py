import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import vietqr


def test_crc_check_value() -> None:
    assert f"{vietqr.crc16_ccitt_false(b'123456789'):04X}" == "29B1"


def test_payload_fields_and_crc() -> None:
    qr = vietqr.VietQR("970436", "0071000123456", amount=387482, bill_number="HD-2611-0001")
    text = qr.payload()
    assert text.startswith("000201010212")
    assert "0010A000000727" in text
    assert "0208QRIBFTTA" in text
    assert "5303704" in text
    assert "5406387482" in text
    assert "5802VN" in text
    assert text[-8:-4] == "6304"
    assert text[-4:] == f"{vietqr.crc16_ccitt_false(text[:-4].encode()):04X}"
    assert vietqr.parse(text) == qr


def test_static_qr_has_no_amount() -> None:
    text = vietqr.VietQR("970436", "12345").payload()
    assert "010211" in text
    assert "54" not in vietqr.parse_tlv(text[:-8])
    assert vietqr.parse(text).amount is None


def test_altered_payload_fails_crc() -> None:
    text = vietqr.VietQR("970436", "0071000123456", amount=1000).payload()
    with pytest.raises(vietqr.VietQRError, match="CRC"):
        vietqr.parse(text.replace("54041000", "54049000"))


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"bank_bin": "97043"}, "BIN"),
        ({"account": "12 34"}, "account"),
        ({"amount": 0}, "amount"),
        ({"purpose": "Tiền điện"}, "purpose"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, object], what: str) -> None:
    base: dict[str, object] = {"bank_bin": "970436", "account": "0071000123456"}
    base.update(kwargs)
    with pytest.raises(vietqr.VietQRError, match=what):
        vietqr.VietQR(**base)  # type: ignore[arg-type]


def test_truncated_tlv_is_an_error() -> None:
    with pytest.raises(vietqr.VietQRError, match="truncated"):
        vietqr.parse_tlv("0005abc")


@settings(max_examples=200, deadline=None)
@given(
    bank_bin=st.from_regex(r"[0-9]{6}", fullmatch=True),
    account=st.from_regex(r"[0-9A-Za-z]{1,19}", fullmatch=True),
    amount=st.none() | st.integers(1, 10**12),
    bill=st.from_regex(r"[ -~]{0,25}", fullmatch=True),
)
def test_payload_round_trips(bank_bin: str, account: str, amount: int | None, bill: str) -> None:
    qr = vietqr.VietQR(bank_bin, account, amount=amount, bill_number=bill)
    assert vietqr.parse(qr.payload()) == qr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_parse_garbage_raises_only_our_error(text: str) -> None:
    with contextlib.suppress(vietqr.VietQRError):
        vietqr.parse(text)
