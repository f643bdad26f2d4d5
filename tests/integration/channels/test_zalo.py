"""The Zalo OA webhook over real HTTP: signed events, dk/huy in every case, menu queries,
replies through the platform's send API, retries, and bill notices exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from central.db.models.channels import ChatBindingRow
from central.db.models.notifications import NotificationRow
from simulators.chat.users import ZaloUser
from tests.support.channels import APP_ID, OA_SECRET, ChatRig, add_bill, add_customer, chat_rig

NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)
ACC1, ACC2, ACC3 = "01234567891", "03000000017", "01999999999"


@pytest.fixture
def rig(db_url: str) -> Iterator[ChatRig]:
    with chat_rig(db_url, now=NOW) as rig:
        with rig.session() as s:
            a = add_customer(s, ACC1, name="Nguyễn Văn An", phone="0901234567")
            b = add_customer(s, ACC2, name="Trần Thị Bình")
            for month in range(13):  # 13 periods, the last one open
                start = date(2024, 6, 12) + timedelta(days=30 * month)
                add_bill(
                    s,
                    a,
                    start,
                    100_000 + month * 1000,
                    state="issued" if month == 12 else "paid",
                    issued_at=datetime(2024, 7, 15, tzinfo=UTC) + timedelta(days=30 * month),
                )
            add_bill(s, b, date(2025, 6, 12), 139_000, state="draft")
            s.commit()
        yield rig


def user(rig: ChatRig, user_id: str, **kw: object) -> ZaloUser:
    return ZaloUser(
        f"{rig.base}/api/v1/channels/zalo",
        app_id=str(kw.pop("app_id", APP_ID)),
        oa_secret=str(kw.pop("oa_secret", OA_SECRET)),
        user_id=user_id,
        conversation=rig.platform.conversation,
        clock=lambda: float(kw.get("at", rig.now).timestamp()),  # type: ignore[attr-defined]
        tamper=bool(kw.get("tamper", False)),
    )


def ask(rig: ChatRig, u: ZaloUser, text: str) -> str:
    before = len([s for s in rig.platform.conversation.lines(u.user_id) if s.direction == "out"])
    assert u.say(text) == 200
    return rig.platform.conversation.wait_out(u.user_id, before + 1)[-1].text


def bindings(rig: ChatRig) -> int:
    with rig.session() as s:
        return int(s.scalar(select(func.count()).select_from(ChatBindingRow)) or 0)


def test_dk_and_huy_in_every_case(rig: ChatRig) -> None:
    u = user(rig, "zalo-user-1")
    assert "đăng ký danh bộ" in ask(rig, u, "xin chào").lower()  # the menu
    assert "chưa đăng ký danh bộ nào" in ask(rig, u, "hd")
    assert "11 digits starting 01 or 03" in ask(rig, u, "dk 12345")
    assert "11 digits starting 01 or 03" in ask(rig, u, "dk 05234567891")
    assert "Không tìm thấy danh bộ 01000000000" in ask(rig, u, "dk 01000000000")
    assert "Vui lòng nhập số danh bộ" in ask(rig, u, "dk")
    assert f"Đã đăng ký danh bộ {ACC1} (Nguyễn Văn An)" in ask(rig, u, f"dk {ACC1}")
    assert "đã được đăng ký trước đó" in ask(rig, u, f"DK {ACC1}")
    assert f"Đã đăng ký danh bộ {ACC2}" in ask(rig, u, f"Đk  {ACC2}")  # accents, spaces
    assert bindings(rig) == 2
    listed = ask(rig, u, "ds")
    assert ACC1 in listed
    assert ACC2 in listed
    assert f"Không tìm thấy danh bộ {ACC3}" in ask(rig, u, f"huy {ACC3}")  # no such account
    assert f"Đã hủy đăng ký danh bộ {ACC2}" in ask(rig, u, f"huy {ACC2}")
    assert f"Danh bộ {ACC2} chưa được đăng ký" in ask(rig, u, f"hủy {ACC2}")
    assert bindings(rig) == 1


def test_many_users_per_account_and_menu_queries(rig: ChatRig) -> None:
    u1, u2 = user(rig, "u1"), user(rig, "u2")
    ask(rig, u1, f"dk {ACC1}")
    ask(rig, u2, f"dk {ACC1}")
    assert bindings(rig) == 2
    latest = ask(rig, u1, "hd")
    assert "Tổng tiền 112.000 đ – chưa thanh toán" in latest  # the 13th bill, open
    twelve = ask(rig, u2, "12ky")
    assert "12 kỳ hóa đơn" in twelve
    assert len(twelve.splitlines()) == 13
    assert "101.000 đ" in twelve
    assert "100.000 đ" not in twelve
    assert "112.000 đ" in ask(rig, u1, "nop")
    assert "account=01234567891" in ask(rig, u1, "nop")
    payments = ask(rig, u1, "tt")
    assert len(payments.splitlines()) == 6  # a heading and the last 5
    schedule = ask(rig, u1, "lich")
    assert f"Danh bộ {ACC1}: kỳ ghi tới" in schedule
    assert f"Danh bộ {ACC2} chưa được đăng ký" in ask(rig, u1, f"hd {ACC2}")


def test_bad_signature_stale_or_foreign_events_change_nothing(rig: ChatRig) -> None:
    assert user(rig, "u1", tamper=True).say(f"dk {ACC1}") == 401
    assert user(rig, "u1", oa_secret="wrong-secret").say(f"dk {ACC1}") == 401
    assert user(rig, "u1", app_id="999").say(f"dk {ACC1}") == 401
    assert user(rig, "u1", at=NOW - timedelta(hours=1)).say(f"dk {ACC1}") == 401
    assert user(rig, "u1", at=NOW + timedelta(hours=1)).say(f"dk {ACC1}") == 401
    assert bindings(rig) == 0
    with rig.session() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRow)) == 0


def test_a_retried_event_is_answered_once(rig: ChatRig) -> None:
    u = user(rig, "u1")
    assert u.say(f"dk {ACC1}", msg_id="m-1") == 200
    assert u.say(f"dk {ACC1}", msg_id="m-1") == 200  # the platform retries
    rig.platform.conversation.wait_out("u1", 1)
    rig.notifier.stop()
    rig.notifier.run_once()
    out = [s for s in rig.platform.conversation.lines("u1") if s.direction == "out"]
    assert [s.text for s in out] == [
        f"Đã đăng ký danh bộ {ACC1} (Nguyễn Văn An). Quý khách sẽ nhận thông báo tiền nước."
    ]


def test_send_failures_are_retried_until_delivered(rig: ChatRig) -> None:
    rig.platform.fail_next = 2
    u = user(rig, "u1")
    assert u.say(f"dk {ACC1}") == 200
    rig.notifier.stop()
    for _ in range(3):  # each round retries once the back-off has passed
        rig.now += timedelta(minutes=5)
        rig.notifier.run_once()
    out = [s for s in rig.platform.conversation.lines("u1") if s.direction == "out"]
    assert len(out) == 1
    assert "Đã đăng ký" in out[0].text
    with rig.session() as s:
        row = s.scalars(select(NotificationRow)).one()
        assert (row.state, row.attempts) == ("sent", 3)


def test_an_issued_bill_is_noticed_once_per_registration(rig: ChatRig) -> None:
    u1, u2 = user(rig, "u1"), user(rig, "u2")
    ask(rig, u1, f"dk {ACC2}")
    ask(rig, u2, f"dk {ACC2}")
    with rig.session() as s:
        from central.billing import bills
        from central.db.models.billing import BillRow

        draft = s.scalars(select(BillRow).where(BillRow.account_no == ACC2)).one()
        bills.issue(s, draft.id, clock=rig.clock)
        s.commit()
    rig.notifier.wake()
    for chat_user in ("u1", "u2"):
        notice = rig.platform.conversation.wait_out(chat_user, 2)[-1].text
        assert f"Thông báo tiền nước danh bộ {ACC2}" in notice
        assert "139.000 đ" in notice
    rig.notifier.stop()
    rig.notifier.run_once()  # a later round, as after a restart, queues nothing again
    for chat_user in ("u1", "u2"):
        out = [s for s in rig.platform.conversation.lines(chat_user) if s.direction == "out"]
        assert len(out) == 2
