"""Replies in the channel's locale: Vietnamese (``vi``) or Chinese (``zh``)."""

from __future__ import annotations

from datetime import date

_VI = {
    "help": (
        "Cú pháp:\n"
        "dk <danh bộ> – đăng ký danh bộ\n"
        "huy <danh bộ> – hủy đăng ký\n"
        "hd – hóa đơn mới nhất\n"
        "12ky – 12 kỳ hóa đơn\n"
        "tt – lịch sử thanh toán 5 kỳ gần nhất\n"
        "lich – lịch ghi chỉ số nước\n"
        "nop – liên kết thanh toán\n"
        "ds – danh bộ đã đăng ký"
    ),
    "missing_account": "Vui lòng nhập số danh bộ, ví dụ: {example} {sample}",
    "malformed": "Số danh bộ {account} không hợp lệ: {hint}.",
    "unknown": "Không tìm thấy danh bộ {account}.",
    "registered": "Đã đăng ký danh bộ {account} ({name}). Quý khách sẽ nhận thông báo tiền nước.",
    "already": "Danh bộ {account} đã được đăng ký trước đó.",
    "too_many": "Mỗi tài khoản chỉ đăng ký tối đa {limit} danh bộ.",
    "unregistered": "Đã hủy đăng ký danh bộ {account}.",
    "not_registered": "Danh bộ {account} chưa được đăng ký.",
    "no_accounts": "Quý khách chưa đăng ký danh bộ nào. Nhập: dk <danh bộ>",
    "accounts": "Danh bộ đã đăng ký:\n{lines}",
    "no_bills": "Danh bộ {account}: chưa có hóa đơn.",
    "bill": (
        "Danh bộ {account} – kỳ {start:%d/%m}–{end:%d/%m/%Y}\n"
        "Chỉ số cũ {previous} – mới {current}, tiêu thụ {consumption}\n"
        "Tổng tiền {total} – {state}"
    ),
    "bill_line": "{start:%m/%Y}: {consumption} – {total} – {state}",
    "bills": "Danh bộ {account} – {n} kỳ hóa đơn:\n{lines}",
    "no_payments": "Danh bộ {account}: chưa có thanh toán.",
    "payments": "Danh bộ {account} – thanh toán gần nhất:\n{lines}",
    "payment_line": "{day:%d/%m/%Y}: {amount} ({method})",
    "schedule": "Danh bộ {account}: kỳ ghi tới {next}; 3 kỳ gần nhất: {last}",
    "no_route": "Danh bộ {account} chưa có lộ trình ghi chỉ số.",
    "pay": "Danh bộ {account}: còn nợ {due}. Thanh toán: {link}",
    "nothing_due": "Danh bộ {account}: không còn nợ.",
    "bill_notice": (
        "Thông báo tiền nước danh bộ {account} kỳ {start:%d/%m}–{end:%d/%m/%Y}: "
        "tiêu thụ {consumption}, tổng tiền {total}."
    ),
    "bill_subject": "Thông báo tiền nước danh bộ {account}",
    "payment_notice": (
        "Đã nhận thanh toán {amount} cho danh bộ {account} ngày {day}. Cảm ơn Quý khách."
    ),
    "payment_subject": "Xác nhận thanh toán danh bộ {account}",
    "outage_notice": "Thông báo {kind} khu vực {area}: từ {start} đến {end}. {reason}",
    "outage_subject": "Thông báo {kind} khu vực {area}",
    "outage_planned": "tạm ngưng cung cấp theo kế hoạch",
    "outage_unplanned": "sự cố ngưng cung cấp",
    "unknown_date": "chưa có",
    "states": (
        "draft:nháp,issued:chưa thanh toán,partially_paid:thanh toán một phần,paid:đã thanh toán"
    ),
}

_ZH = {
    "help": (
        "指令：\n"
        "绑定 <户号> – 绑定户号\n"
        "解绑 <户号> – 解除绑定\n"
        "账单 – 最新账单\n"
        "历史账单 – 最近12期账单\n"
        "缴费记录 – 最近5次缴费\n"
        "抄表 – 抄表计划\n"
        "缴费 – 缴费链接\n"
        "户号 – 已绑定户号"
    ),
    "missing_account": "请输入户号，例如：{example} {sample}",
    "malformed": "户号 {account} 格式不正确：{hint}。",
    "unknown": "未找到户号 {account}。",
    "registered": "已绑定户号 {account}（{name}），将收到账单通知。",
    "already": "户号 {account} 已绑定。",
    "too_many": "每个用户最多绑定 {limit} 个户号。",
    "unregistered": "已解除绑定户号 {account}。",
    "not_registered": "户号 {account} 未绑定。",
    "no_accounts": "您尚未绑定户号。请输入：绑定 <户号>",
    "accounts": "已绑定户号：\n{lines}",
    "no_bills": "户号 {account}：暂无账单。",
    "bill": (
        "户号 {account} – 账期 {start:%Y-%m-%d}至{end:%Y-%m-%d}\n"
        "上期示数 {previous} – 本期示数 {current}，用量 {consumption}\n"
        "金额 {total} – {state}"
    ),
    "bill_line": "{start:%Y-%m}：{consumption} – {total} – {state}",
    "bills": "户号 {account} – 最近{n}期账单：\n{lines}",
    "no_payments": "户号 {account}：暂无缴费记录。",
    "payments": "户号 {account} – 最近缴费：\n{lines}",
    "payment_line": "{day:%Y-%m-%d}：{amount}（{method}）",
    "schedule": "户号 {account}：下次抄表 {next}；最近3次：{last}",
    "no_route": "户号 {account} 尚无抄表计划。",
    "pay": "户号 {account}：欠费 {due}。缴费：{link}",
    "nothing_due": "户号 {account}：无欠费。",
    "bill_notice": (
        "户号 {account} 账期 {start:%Y-%m-%d}至{end:%Y-%m-%d}：用量 {consumption}，金额 {total}。"
    ),
    "bill_subject": "户号 {account} 账单通知",
    "payment_notice": "已收到户号 {account} 的缴费 {amount}（{day}）。谢谢！",
    "payment_subject": "户号 {account} 缴费确认",
    "outage_notice": "{kind}通知（{area}）：{start} 至 {end}。{reason}",
    "outage_subject": "{area}{kind}通知",
    "outage_planned": "计划停电",
    "outage_unplanned": "故障停电",
    "unknown_date": "暂无",
    "states": "draft:草稿,issued:未缴,partially_paid:部分缴费,paid:已缴",
}

CATALOGS = {"vi": _VI, "zh": _ZH}


def text(locale: str, key: str, **values: object) -> str:
    return CATALOGS[locale][key].format(**values)


def state_name(locale: str, state: str) -> str:
    pairs = dict(p.split(":", 1) for p in CATALOGS[locale]["states"].split(","))
    return pairs.get(state, state)


def money(amount: int, currency: str) -> str:
    """An amount in minor units as a customer reads it: ``139.000 đ``, ``¥123.45``."""
    if currency == "VND":
        return f"{amount:,}".replace(",", ".") + " đ"
    if currency == "CNY":
        return f"¥{amount // 100}.{amount % 100:02d}"
    return f"{amount} {currency}"


def day(locale: str, value: date | None) -> str:
    if value is None:
        return CATALOGS[locale]["unknown_date"]
    return value.strftime("%d/%m/%Y") if locale == "vi" else value.isoformat()
