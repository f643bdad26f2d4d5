"""A central app with chat channels wired to a simulated platform, and accounts with bills."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.billing import bills
from central.db.engine import make_engine, writer_sessions
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.records import CustomerRow, RouteRow, UtilityRow
from central.notify.notifier import Notifier
from central.notify.senders import WeChatSender, ZaloSender
from central.payments import counter
from central.records.customers import BEN_THANH
from central.settings import ChannelsSettings, WeChatSettings, ZaloSettings
from simulators.chat.platform import PlatformSim
from tests.support.central_app import serve

APP_ID, OA_SECRET, WECHAT_TOKEN = "4096000000000001", "oa-secret-for-tests", "wechat-token"


@dataclass
class ChatRig:
    engine: Engine
    base: str
    platform: PlatformSim
    notifier: Notifier
    now: datetime

    def clock(self) -> datetime:
        return self.now

    def session(self) -> Session:
        """A session that may read, then write while the notifier runs."""
        return writer_sessions(self.engine)()


def add_customer(session: Session, account: str, *, name: str, phone: str = "") -> CustomerRow:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    route = session.query(RouteRow).filter_by(code="Q1-01").one_or_none()
    if route is None:
        route = RouteRow(code="Q1-01", name="Quận 1 tuyến 1", reading_day=12, reader="r1")
        session.add(route)
        session.flush()
    row = CustomerRow(
        utility_code=BEN_THANH.code,
        account_no=account,
        name=name,
        address="12 Lê Lợi, Quận 1",
        phone=phone,
        tariff_code="hcmc-water-residential",
        persons=4,
        route_id=route.id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def add_bill(
    session: Session,
    customer: CustomerRow,
    start: date,
    total: int,
    *,
    state: str = "issued",
    issued_at: datetime | None = None,
) -> BillRow:
    """A bill for 30 days from ``start``: a draft; or issued (charged on the ledger) at
    ``issued_at``; or ``paid``: issued, then paid in cash at the counter ten days later."""
    end = start + timedelta(days=30)
    bill = BillRow(
        customer_id=customer.id,
        account_no=customer.account_no,
        tariff_code=customer.tariff_code,
        period_start=start,
        period_end=end,
        previous_index=100.0,
        current_index=118.0,
        consumption=18.0,
        lines_json="[]",
        subtotal=total,
        tax_total=0,
        total=total,
        currency="VND",
        state="draft",
        created_at=datetime.combine(end, datetime.min.time(), UTC),
    )
    session.add(bill)
    session.flush()
    if state == "draft":
        return bill
    when = issued_at or datetime.combine(end + timedelta(days=2), datetime.min.time(), UTC)
    bills.issue(session, bill.id, clock=lambda: when)
    if state == "paid":
        counter.pay(
            session,
            key=f"seed-{bill.id}",
            amount=total,
            method="cash",
            taken_by="cashier",
            bill_id=bill.id,
            clock=lambda: when + timedelta(days=10),
        )
    session.flush()
    return bill


@contextmanager
def chat_rig(db_url: str, *, now: datetime) -> Iterator[ChatRig]:
    engine = make_engine(db_url)
    upgrade(engine)
    with Session(engine) as session:
        session.add(UtilityRow(**BEN_THANH.model_dump()))
        session.commit()
    platform = PlatformSim().start()
    zalo = ZaloSettings(
        app_id=APP_ID,
        oa_secret=OA_SECRET,
        access_token=platform.zalo_token,
        api_url=platform.url,
        utility=BEN_THANH.code,
        pay_link="https://pay.example/ben-thanh?account={account}",
    )
    wechat = WeChatSettings(
        token=WECHAT_TOKEN,
        app_id=platform.wechat_app_id,
        app_secret=platform.wechat_secret,
        api_url=platform.url,
        utility=BEN_THANH.code,
        locale="zh",
    )
    rig_holder: list[ChatRig] = []
    app = create_app(
        engine, clock=lambda: rig_holder[0].now, channels=ChannelsSettings(zalo=zalo, wechat=wechat)
    )
    notifier = Notifier(
        writer_sessions(engine),
        {"zalo": ZaloSender(zalo), "wechat": WeChatSender(wechat)},
        chat_locales={"zalo": "vi", "wechat": "zh"},
        interval=0.05,
        clock=lambda: rig_holder[0].now,
    )
    app.state.notifier = notifier
    try:
        with serve(app) as base:
            rig = ChatRig(engine, base, platform, notifier, now)
            rig_holder.append(rig)
            notifier.start()
            try:
                yield rig
            finally:
                notifier.stop()
    finally:
        platform.stop()
        engine.dispose()
