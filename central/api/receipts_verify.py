"""Central's public receipt verification: the page a receipt's QR opens, and its JSON.

``GET /r/{code}`` — the link printed on the receipt: an HTML page, or JSON when the caller
sends ``Accept: application/json``. ``GET /api/v1/receipts/verify?code=...`` — JSON, for apps
and the payments desk. Both are public: anyone holding a receipt may check it.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from central.auth import public
from central.receipts.verify import Counts, Verdict, check

router = APIRouter(tags=["receipts"])
Code = Annotated[str, Query(min_length=1, max_length=2000, description="QR text or link")]


def _verdict(request: Request, code: str) -> Verdict:
    state = request.app.state
    if not hasattr(state, "receipt_counts"):
        state.receipt_counts = Counts()
    return check(code, getattr(state, "receipt_keys", {}), counts=state.receipt_counts)


@router.get("/api/v1/receipts/verify", dependencies=[public()])
def verify_json(request: Request, code: Code) -> dict[str, object]:
    return _verdict(request, code).as_dict()


@router.get(
    "/r/{code:path}",
    dependencies=[public()],
    response_class=HTMLResponse,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
def verify_page(request: Request, code: str) -> Response:
    # the path arrives decoded; the contract reads the text either way
    verdict = _verdict(request, code)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(verdict.as_dict())
    return HTMLResponse(render_page(verdict))


def render_page(verdict: Verdict) -> str:
    title = (
        "Biên nhận hợp lệ / Genuine receipt"
        if verdict.genuine
        else ("Biên nhận KHÔNG hợp lệ / NOT a genuine receipt")
    )
    colour = "#1b5e20" if verdict.genuine else "#b71c1c"
    rows = ""
    said = verdict.as_dict()["receipt"]
    if isinstance(said, dict):
        labels = {
            "receipt_no": "Số biên nhận / Receipt",
            "amount": "Số tiền / Amount (VND)",
            "paid_at": "Thời gian / Paid at (UTC)",
            "account": "Mã khách hàng / Account",
            "bill_id": "Hóa đơn / Bill",
            "method": "Hình thức / Method",
            "cashier": "Thu ngân / Cashier",
            "gateway_id": "Thiết bị ký / Signed by",
        }
        for key, label in labels.items():
            value = said[key]
            shown = f"{value:,}".replace(",", ".") if key == "amount" else str(value)
            rows += f"<tr><th>{html.escape(label)}</th><td>{html.escape(shown)}</td></tr>"
    note = (
        ""
        if verdict.genuine
        else (
            "<p>Nội dung dưới đây là những gì mã QR ghi, chưa được xác thực. "
            "What follows is what the code says; it is not vouched for.</p>"
        )
    )
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:32em;margin:1em auto">'
        f'<h1 style="color:{colour}">{html.escape(title)}</h1>'
        f"<p>{html.escape(verdict.reason)}</p>{note}<table>{rows}</table></body></html>"
    )
