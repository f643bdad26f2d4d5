"""Chat commands and platform signatures, sans-IO."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.channels.commands import Command, Kind, fold, parse
from central.channels.signatures import (
    SignatureError,
    check_wechat,
    check_zalo,
    wechat_signature,
    zalo_mac,
)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("dk 01234567891", Command(Kind.REGISTER, "01234567891")),
        ("ĐK 01234567891", Command(Kind.REGISTER, "01234567891")),
        ("  dk   0123 4567 891 ", Command(Kind.REGISTER, "01234567891")),
        ("dk", Command(Kind.REGISTER, "")),
        ("hủy 01234567891", Command(Kind.UNREGISTER, "01234567891")),
        ("huy 01234567891", Command(Kind.UNREGISTER, "01234567891")),
        ("Hóa đơn", Command(Kind.HELP)),  # two words: not a keyword
        ("hoadon 01234567891", Command(Kind.LATEST_BILL, "01234567891")),
        ("HD", Command(Kind.LATEST_BILL)),
        ("12ky", Command(Kind.BILLS)),
        ("lịch", Command(Kind.SCHEDULE)),
        ("绑定 03111111111", Command(Kind.REGISTER, "03111111111")),
        ("", Command(Kind.HELP)),
        ("chào", Command(Kind.HELP)),
    ],
)
def test_parse(text: str, command: Command) -> None:
    assert parse(text) == command


def test_fold_removes_vietnamese_accents() -> None:
    assert fold("Nguyễn Đức Hủy") == "nguyen duc huy"


@given(st.text(max_size=300))
def test_parse_never_fails(text: str) -> None:
    assert isinstance(parse(text).kind, Kind)


def test_zalo_mac_is_sha256_of_app_id_body_timestamp_secret() -> None:
    body = b'{"event_name":"user_send_text"}'
    expected = hashlib.sha256(b"123" + body + b"1700000000000" + b"secret").hexdigest()
    assert zalo_mac("123", body, "1700000000000", "secret") == expected
    check_zalo(
        f"mac={expected}", app_id="123", body=body, timestamp="1700000000000", oa_secret="secret"
    )
    for bad in (None, "", "mac=", f"mac={expected[:-1]}0", expected.upper() + "0"):
        with pytest.raises(SignatureError):
            check_zalo(
                bad, app_id="123", body=body + b" ", timestamp="1700000000000", oa_secret="secret"
            )


def test_wechat_signature_is_sha1_of_sorted_parts() -> None:
    parts = sorted(["tok", "1700000000", "nonce1"])
    expected = hashlib.sha1("".join(parts).encode()).hexdigest()
    assert wechat_signature("tok", "1700000000", "nonce1") == expected
    check_wechat(expected, token="tok", timestamp="1700000000", nonce="nonce1")
    with pytest.raises(SignatureError):
        check_wechat(expected, token="tok", timestamp="1700000001", nonce="nonce1")
