from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import receipt_signature as rs
from tests.support.documents import GATEWAY, VERIFY_URL, sample_receipt

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
RING = {GATEWAY: (KEY.public_key(),)}


def test_signed_receipt_verifies_and_round_trips_fields() -> None:
    qr = sample_receipt(KEY).verification
    fields = rs.verify_receipt(qr, RING)
    assert fields.receipt_no == "BN-01-000123"
    assert fields.amount == 387482
    assert fields.cashier == "Trần Văn Bình"
    assert fields.paid_at == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    # Ed25519 is deterministic: the same canonical bytes give the same printed link
    assert rs.receipt_url(rs.sign_receipt(fields, KEY), VERIFY_URL) == qr


def test_the_printed_qr_is_a_link_to_central_carrying_the_signed_text() -> None:
    link = sample_receipt(KEY).verification
    assert link.startswith("https://m2c.example.vn/r/M2C1*gw-camau-01*BN-01-000123*")
    assert " " not in link
    assert link.isascii()
    text = rs.receipt_text(link)
    assert text.startswith("M2C1*")
    assert "Trần Văn Bình" in text
    assert rs.verify_receipt(text, RING) == rs.verify_receipt(link, RING)
    assert rs.receipt_text(text) == text
    with pytest.raises(rs.MalformedReceiptError):
        rs.verify_receipt("https://m2c.example.vn/r/%FF%FE", RING)
    with pytest.raises(ValueError, match="https://"):
        rs.receipt_url(text, "m2c.example.vn")


def test_canonical_content_is_documented_form() -> None:
    qr = rs.receipt_text(sample_receipt(KEY).verification)
    content, _, sig = qr.rpartition("*")
    assert content == (
        "M2C1*gw-camau-01*BN-01-000123*PB14010012345*HD-2611-0001*387482*CASH*"
        "20261123T023000Z*Trần Văn Bình"
    )
    assert len(sig) == 103  # 64 bytes in unpadded base32


@pytest.mark.parametrize("position", range(len("387482")))
def test_one_changed_digit_is_detected(position: int) -> None:
    qr = sample_receipt(KEY).verification
    digits = list("387482")
    digits[position] = str((int(digits[position]) + 1) % 10)
    forged = qr.replace("*387482*", "*" + "".join(digits) + "*")
    assert forged != qr
    with pytest.raises(rs.BadSignatureError, match="does not match"):
        rs.verify_receipt(forged, RING)


def test_changed_receipt_number_is_detected() -> None:
    qr = sample_receipt(KEY).verification
    with pytest.raises(rs.BadSignatureError):
        rs.verify_receipt(qr.replace("BN-01-000123", "BN-01-000124"), RING)


def test_wrong_key_is_detected() -> None:
    qr = sample_receipt(OTHER).verification
    with pytest.raises(rs.BadSignatureError):
        rs.verify_receipt(qr, RING)


def test_rotated_keyring_accepts_either_key() -> None:
    qr = sample_receipt(OTHER).verification
    assert rs.verify_receipt(qr, {GATEWAY: (KEY.public_key(), OTHER.public_key())})


def test_unknown_signer() -> None:
    with pytest.raises(rs.UnknownSignerError, match="gw-camau-01"):
        rs.verify_receipt(sample_receipt(KEY).verification, {})


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "hello",
        "M2C1*a*b",
        "https://example.com/x",
        "M2C1*gw*1*2*3*x*CASH*20261123T023000Z*c*AAAA",
        "M2C1*gw*1*2*3*5*CASH*2026-11-23*c*AAAA",
        "M2C1*gw*1*2*3*5*CASH*20261123T023000Z*c*!!!!",
    ],
)
def test_garbage_is_a_clear_error(garbage: str) -> None:
    with pytest.raises(rs.MalformedReceiptError):
        rs.verify_receipt(garbage, RING)


def test_keyring_round_trip_and_errors() -> None:
    text = f'[keys]\n"{GATEWAY}" = ["{rs.public_key_text(KEY.public_key())}"]\n'
    ring = rs.parse_keyring(text)
    assert rs.verify_receipt(sample_receipt(KEY).verification, ring).account == "PB14010012345"
    with pytest.raises(rs.ReceiptSignatureError, match="not a base64url"):
        rs.parse_keyring('[keys]\ngw = ["abc"]\n')
    with pytest.raises(rs.ReceiptSignatureError, match=r"\[keys\]"):
        rs.parse_keyring("x = 1\n")


def test_fields_refuse_separator() -> None:
    with pytest.raises(rs.MalformedReceiptError, match="'\\*'"):
        rs.ReceiptFields(GATEWAY, "BN*1", "A", "", 1, "cash", datetime.now(UTC), "x")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=0, max_size=12))
def test_fuzzed_fields_raise_only_our_errors(parts: list[str]) -> None:
    text = "*".join(["M2C1", *parts]) if parts else ""
    with pytest.raises(rs.ReceiptSignatureError):
        rs.verify_receipt(text, RING)
