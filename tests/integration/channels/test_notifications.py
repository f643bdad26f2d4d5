"""Bill and outage notices by chat, e-mail (a real local SMTP server) and SMS: exactly once
per subscription, across restarts of the notifier; retries when a channel is down."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.billing import bills
from central.db.engine import make_engine, writer_sessions
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.channels import ChatBindingRow
from central.db.models.notifications import NotificationRow
from central.db.models.records import RouteRow, StationRow, UtilityRow
from central.notify import subscriptions
from central.notify.notifier import Notifier
from central.notify.senders import EmailSender, SmsSender, ZaloSender
from central.payments import counter
from central.records.customers import BEN_THANH
from central.service import outages
from central.service.schemas import OutageIn
from central.settings import SmsSettings, SmtpSettings, ZaloSettings
from simulators.chat.platform import PlatformSim
from simulators.mailbox import Mailbox
from tests.support.channels import add_bill, add_customer

NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)


@dataclass
class Rig:
    sessions: object
    platform: PlatformSim
    mail: Mailbox
    now: datetime

    def clock(self) -> datetime:
        return self.now

    def notifier(self) -> Notifier:  # a new one, as after a restart
        zalo = ZaloSettings(
            app_id="1",
            oa_secret="secret-123",
            access_token=self.platform.zalo_token,
            api_url=self.platform.url,
            utility=BEN_THANH.code,
        )
        smtp = SmtpSettings(
            host=self.mail.host, port=self.mail.port, sender="hoadon@benthanh.vn", timeout_s=5
        )
        sms = SmsSettings(
            api_url=self.platform.url, api_key=self.platform.sms_key, sender="BENTHANH"
        )
        return Notifier(
            self.sessions,  # type: ignore[arg-type]
            {"zalo": ZaloSender(zalo), "email": EmailSender(smtp), "sms": SmsSender(sms)},
            chat_locales={"zalo": "vi"},
            clock=self.clock,
        )


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[Rig]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = writer_sessions(engine)
    with Session(engine) as s:
        s.add(UtilityRow(**BEN_THANH.model_dump()))
        station = StationRow(code="ST-Q1", name="Trạm Quận 1")
        s.add(station)
        s.flush()
        s.add(RouteRow(code="Q1-01", name="Quận 1 tuyến 1", station_id=station.id, reading_day=12))
        s.commit()
        a = add_customer(s, "01234567891", name="Nguyễn Văn An")
        b = add_customer(s, "01234567892", name="Lê Thị Cúc")
        for customer in (a, b):  # one chat user registered to both accounts
            s.add(
                ChatBindingRow(
                    platform="zalo",
                    chat_user="z1",
                    customer_id=customer.id,
                    created_at=NOW - timedelta(days=1),
                )
            )
        add_bill(s, a, date(2025, 6, 12), 139_000, state="draft")
        s.commit()
        for channel, address in (("email", "An@Example.vn"), ("sms", "0901234567")):
            subscriptions.subscribe(
                s,
                a.id,
                subscriptions.SubscriptionIn(
                    channel=channel,
                    address=address,  # type: ignore[arg-type]
                    topics=["bill", "outage", "payment"],
                ),
                by="clerk",
                clock=lambda: NOW - timedelta(days=1),
            )
        s.commit()
    with PlatformSim() as platform, Mailbox(tmp_path / "mail") as mail:
        yield Rig(sessions, platform, mail, NOW)
    engine.dispose()


def issue_bill(rig: Rig) -> None:
    with rig.sessions() as s:  # type: ignore[operator]
        bill = s.scalars(select(BillRow)).one()
        bills.issue(s, bill.id, clock=rig.clock)
        s.commit()


def outbox(rig: Rig) -> list[NotificationRow]:
    with rig.sessions() as s:  # type: ignore[operator]
        return list(s.scalars(select(NotificationRow).order_by(NotificationRow.id)))


def test_a_bill_is_noticed_once_by_every_channel_across_restarts(rig: Rig) -> None:
    issue_bill(rig)
    assert rig.notifier().run_once() == 3
    for _ in range(2):  # restarted notifiers find nothing new
        assert rig.notifier().run_once() == 0
    mail = rig.mail.wait(1)
    assert len(mail) == 1
    assert mail[0]["To"] == "an@example.vn"
    assert mail[0]["Subject"] == "Thông báo tiền nước danh bộ 01234567891"
    assert "139.000 đ" in mail[0].get_content()
    sms = [s for s in rig.platform.conversation.lines() if s.platform == "sms"]
    assert [(s.user, "139.000 đ" in s.text) for s in sms] == [("0901234567", True)]
    chat = [s for s in rig.platform.conversation.lines("z1")]
    assert len(chat) == 1


def test_an_outage_is_noticed_once_per_recipient(rig: Rig) -> None:
    with rig.sessions() as s:  # type: ignore[operator]
        outages.announce(
            s,
            OutageIn(
                kind="planned",
                area="Phường Bến Nghé",
                reason="Thay van DN200.",
                starts_at=NOW + timedelta(days=1),
                expected_restore_at=NOW + timedelta(days=1, hours=8),
                station_codes=["ST-Q1"],
            ),
            by="op",
            clock=rig.clock,
        )
        s.commit()
    assert rig.notifier().run_once() == 3  # z1 once although both its accounts are affected
    assert rig.notifier().run_once() == 0
    chat = rig.platform.conversation.lines("z1")
    assert len(chat) == 1
    assert "tạm ngưng cung cấp theo kế hoạch khu vực Phường Bến Nghé" in chat[0].text
    assert "từ 10:00 21/07/2025 đến 18:00 21/07/2025" in chat[0].text  # local time, UTC+7
    assert rig.mail.wait(1)[0]["Subject"].startswith("Thông báo tạm ngưng cung cấp")


def test_channels_that_are_down_are_retried_after_back_off(rig: Rig) -> None:
    rig.platform.fail_next = 1  # the first send (zalo or sms) fails once
    rig.mail.stop()  # the mail server is down
    issue_bill(rig)
    rig.notifier().run_once()
    pending = [r for r in outbox(rig) if r.state == "pending"]
    assert {r.channel for r in pending} >= {"email"}
    assert all(r.attempts == 1 and r.last_error for r in pending)
    rig.mail.start()
    rig.now += timedelta(milliseconds=500)  # within the first back-off (1 s): nothing is due
    assert rig.notifier().run_once() == 0
    rig.now += timedelta(minutes=5)
    rig.notifier().run_once()
    assert [r.state for r in outbox(rig)] == ["sent", "sent", "sent"]
    assert len(rig.mail.wait(1)) == 1


def test_an_address_the_mail_server_refuses_fails_at_once(rig: Rig, tmp_path: Path) -> None:
    rig.mail.stop()
    with Mailbox(tmp_path / "strict", port=rig.mail.port, refuse={"an@example.vn"}):
        issue_bill(rig)
        rig.notifier().run_once()
    email = [r for r in outbox(rig) if r.channel == "email"]
    assert [(r.state, r.attempts) for r in email] == [("failed", 1)]
    assert "recipient refused" in email[0].last_error
    assert {r.state for r in outbox(rig) if r.channel != "email"} == {"sent"}


def test_a_payment_is_acknowledged_once_by_every_channel(rig: Rig) -> None:
    issue_bill(rig)
    rig.notifier().run_once()  # the bill's notices
    with rig.sessions() as s:  # type: ignore[operator]
        bill = s.scalars(select(BillRow)).one()
        counter.pay(
            s,
            key="counter-1",
            amount=100_000,
            method="cash",
            taken_by="cashier",
            bill_id=bill.id,
            clock=rig.clock,
        )
        s.commit()
    assert rig.notifier().run_once() == 3  # chat, e-mail, SMS
    assert rig.notifier().run_once() == 0  # and never again
    receipts = [m for m in rig.mail.wait(2) if m["Subject"].startswith("Xác nhận thanh toán")]
    assert len(receipts) == 1
    assert "Đã nhận thanh toán 100.000 đ cho danh bộ 01234567891" in receipts[0].get_content()
    chat = [s.text for s in rig.platform.conversation.lines("z1")]
    assert sum("Đã nhận thanh toán" in t for t in chat) == 1
