"""The WeChat OA endpoint over real HTTP: server verification, signed XML messages answered
with XML in Chinese, MsgId retries answered once, XML bombs refused, notices through the
customer-service API with a token that expires."""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import func, select

from central.billing import bills
from central.db.models.billing import BillRow
from central.db.models.channels import ChatBindingRow
from simulators.chat.users import WeChatUser
from tests.support.channels import WECHAT_TOKEN, ChatRig, add_bill, add_customer, chat_rig

NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)
ACC = "03111111111"


@pytest.fixture
def rig(db_url: str) -> Iterator[ChatRig]:
    with chat_rig(db_url, now=NOW) as rig:
        with rig.session() as s:
            c = add_customer(s, ACC, name="王芳")
            add_bill(s, c, date(2025, 6, 12), 254_300, state="draft")
            s.commit()
        yield rig


def follower(rig: ChatRig, open_id: str = "oUser1", token: str = WECHAT_TOKEN) -> WeChatUser:
    return WeChatUser(
        f"{rig.base}/api/v1/channels/wechat",
        token=token,
        open_id=open_id,
        conversation=rig.platform.conversation,
        clock=lambda: rig.now.timestamp(),
    )


def test_server_verification_echoes_only_a_good_signature(rig: ChatRig) -> None:
    assert follower(rig).verify("echo-123") == (200, "echo-123")
    status, _ = follower(rig, token="not-the-token").verify("echo-123")
    assert status == 401


def test_bind_query_and_unbind_in_chinese(rig: ChatRig) -> None:
    user = follower(rig)
    status, reply = user.say(f"绑定 {ACC}")
    assert status == 200
    assert reply == f"已绑定户号 {ACC}（王芳），将收到账单通知。"
    assert user.say(f"绑定 {ACC}")[1] == f"户号 {ACC} 已绑定。"
    assert "格式不正确" in user.say("绑定 99")[1]
    assert user.say("账单")[1] == f"户号 {ACC}：暂无账单。"  # the draft is not shown
    assert user.say(f"解绑 {ACC}")[1] == f"已解除绑定户号 {ACC}。"
    assert user.say("账单")[1] == "您尚未绑定户号。请输入：绑定 <户号>"


def test_a_retried_msg_id_gets_the_same_reply_and_binds_once(rig: ChatRig) -> None:
    user = follower(rig)
    first = user.say(f"绑定 {ACC}", msg_id="6054768590064713728")
    again = user.say(f"绑定 {ACC}", msg_id="6054768590064713728")
    assert first == again
    assert first[1].startswith("已绑定户号")
    with rig.session() as s:
        assert s.scalar(select(func.count()).select_from(ChatBindingRow)) == 1


def test_bad_signature_stale_timestamp_and_xml_bombs_are_refused(rig: ChatRig) -> None:
    assert follower(rig, token="wrong").say(f"绑定 {ACC}")[0] == 401
    stale = follower(rig)
    stale.clock = lambda: NOW.timestamp() - 3600
    assert stale.say(f"绑定 {ACC}")[0] == 401
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<xml><ToUserName>gh</ToUserName><FromUserName>oUser1</FromUserName>"
        b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&b;</Content></xml>"
    )
    timestamp, nonce = str(int(NOW.timestamp())), "n1"
    signature = hashlib.sha1("".join(sorted((WECHAT_TOKEN, timestamp, nonce))).encode())
    query = urllib.parse.urlencode(
        {"signature": signature.hexdigest(), "timestamp": timestamp, "nonce": nonce}
    )
    response = httpx.post(f"{rig.base}/api/v1/channels/wechat?{query}", content=bomb)
    assert response.status_code == 400
    response = httpx.post(f"{rig.base}/api/v1/channels/wechat?{query}", content=b"<xml><a>")
    assert response.status_code == 400
    with rig.session() as s:
        assert s.scalar(select(func.count()).select_from(ChatBindingRow)) == 0


def test_issued_bill_notice_goes_through_the_send_api_with_a_fresh_token(rig: ChatRig) -> None:
    user = follower(rig)
    user.say(f"绑定 {ACC}")
    rig.platform.expire_token()  # the token the sender may hold is now invalid
    with rig.session() as s:
        draft = s.scalars(select(BillRow).where(BillRow.account_no == ACC)).one()
        bills.issue(s, draft.id, clock=rig.clock)
        s.commit()
    rig.notifier.wake()
    sent = rig.platform.conversation.wait_out("oUser1", 2)  # the passive reply, then the notice
    assert sent[-1].text == f"户号 {ACC} 账期 2025-06-12至2025-07-12：用量 18，金额 254.300 đ。"
