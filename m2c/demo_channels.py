"""The demo's customer side: a Zalo follower registers an account with ``dk`` and gets the new
bill's notice in the chat; an e-mail subscriber gets it in a local mailbox (Maildir)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine, select

from central.billing import bills
from central.db.engine import writer_sessions
from central.db.models.billing import BillRow
from central.db.models.records import CustomerRow, UtilityRow
from central.notify import subscriptions
from central.notify.notifier import Notifier
from central.notify.senders import EmailSender, Sender, SmsSender, ZaloSender
from central.records.customers import BEN_THANH
from central.settings import ChannelsSettings, SmsSettings, SmtpSettings, ZaloSettings
from simulators.chat.platform import PlatformSim
from simulators.chat.users import ZaloUser
from simulators.mailbox import Mailbox

APP_ID, OA_SECRET = "4096000000000001", "demo-oa-secret"
ACCOUNT = "01234567891"
FOLLOWER = "zalo-user-8412"


class ChatDemo:
    def __init__(self, workdir: Path) -> None:
        self.platform = PlatformSim().start()
        self.mailbox = Mailbox(workdir / "mailbox").start()
        self.zalo = ZaloSettings(
            app_id=APP_ID,
            oa_secret=OA_SECRET,
            access_token=self.platform.zalo_token,
            api_url=self.platform.url,
            utility=BEN_THANH.code,
            pay_link="http://127.0.0.1:8080/docs#/self-service?account={account}",
        )
        self.smtp = SmtpSettings(
            host=self.mailbox.host, port=self.mailbox.port, sender="hoadon@benthanh.example"
        )
        self.sms = SmsSettings(api_url=self.platform.url, api_key=self.platform.sms_key)
        self.notifier: Notifier | None = None

    def settings(self) -> ChannelsSettings:
        return ChannelsSettings(zalo=self.zalo, smtp=self.smtp, sms=self.sms)

    def start(self, engine: Engine) -> Notifier:
        senders: dict[str, Sender] = {
            "zalo": ZaloSender(self.zalo),
            "email": EmailSender(self.smtp),
            "sms": SmsSender(self.sms),
        }
        self.notifier = Notifier(
            writer_sessions(engine), senders, chat_locales={"zalo": "vi"}, interval=1.0
        )
        self.notifier.start()
        return self.notifier

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        self.mailbox.stop()
        self.platform.stop()

    async def converse(self, engine: Engine, base: str, *, out: TextIO) -> None:
        """Seed an account with a draft bill, register it over Zalo, issue the bill, and show
        the conversation and the e-mail that arrive."""
        await asyncio.to_thread(_seed, engine)
        user = ZaloUser(
            f"{base}/api/v1/channels/zalo",
            app_id=APP_ID,
            oa_secret=OA_SECRET,
            user_id=FOLLOWER,
            conversation=self.platform.conversation,
        )
        await asyncio.to_thread(user.say, f"dk {ACCOUNT}")
        await asyncio.to_thread(self.platform.conversation.wait_out, FOLLOWER, 1)
        await asyncio.to_thread(_issue, engine)
        if self.notifier is not None:
            self.notifier.wake()
        await asyncio.to_thread(self.platform.conversation.wait_out, FOLLOWER, 2)
        mail = await asyncio.to_thread(self.mailbox.wait, 1)
        print("  Zalo conversation (Bến Thành Official Account):", file=out)
        for said in self.platform.conversation.lines(FOLLOWER):
            who = "  customer" if said.direction == "in" else "  utility "
            print(f"    {who}: {said.text}", file=out)
        print(
            f'  e-mail notice in {self.mailbox.path}: "{mail[0]["Subject"]}" to {mail[0]["To"]}',
            file=out,
        )


def _seed(engine: Engine) -> None:
    now = datetime.now(UTC)
    with writer_sessions(engine)() as s:  # the API and the sweepers write meanwhile
        if s.get(UtilityRow, BEN_THANH.code) is None:
            s.add(UtilityRow(**BEN_THANH.model_dump()))
            s.flush()
        customer = CustomerRow(
            utility_code=BEN_THANH.code,
            account_no=ACCOUNT,
            name="Nguyễn Văn An",
            address="12 Lê Lợi, Quận 1",
            phone="0901234567",
            tariff_code="hcmc-water-residential",
            persons=4,
            created_at=now,
            updated_at=now,
        )
        s.add(customer)
        s.flush()
        start = date.today().replace(day=1) - timedelta(days=30)
        s.add(
            BillRow(
                customer_id=customer.id,
                account_no=ACCOUNT,
                tariff_code=customer.tariff_code,
                period_start=start,
                period_end=start + timedelta(days=30),
                previous_index=1234.0,
                current_index=1252.0,
                consumption=18.0,
                lines_json="[]",
                subtotal=139_000,
                tax_total=0,
                total=139_000,
                currency="VND",
                state="draft",
                created_at=now,
            )
        )
        subscriptions.subscribe(
            s,
            customer.id,
            subscriptions.SubscriptionIn(channel="email", address="an.nguyen@example.vn"),
            by="demo",
            clock=lambda: now - timedelta(seconds=1),
        )
        s.commit()


def _issue(engine: Engine) -> None:
    with writer_sessions(engine)() as s:
        bill = s.scalars(select(BillRow).where(BillRow.account_no == ACCOUNT)).one()
        bills.issue(s, bill.id, clock=lambda: datetime.now(UTC))
        s.commit()
