"""A document → the two renderings a print job carries: the original and the marked copy."""

from __future__ import annotations

from drivers.escpos.documents import BillNotice, Receipt
from drivers.escpos.encode import encode
from drivers.escpos.layout import layout
from drivers.escpos.profile import PrinterProfile
from drivers.escpos.template import Template


def render_job(
    doc: BillNotice | Receipt, template: Template, profile: PrinterProfile
) -> tuple[bytes, bytes]:
    original = encode(layout(doc, template), profile, template.sizes)
    copy = encode(layout(doc, template, copy=True), profile, template.sizes)
    return original, copy
