"""A consumption bar chart as SVG (sans-IO): one bar a period, labelled by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

WIDTH, HEIGHT, PAD, AXIS = 640, 320, 40, 24


@dataclass(frozen=True)
class Bar:
    period_end: date
    value: float
    estimated: bool


def svg(bars: list[Bar], *, unit: str, title: str) -> str:
    top = max((b.value for b in bars), default=0.0) or 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD - AXIS
    slot = inner_w / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{PAD}" y="{PAD - 16}" font-size="14" font-family="sans-serif">'
        f"{escape(title)} ({escape(unit)})</text>",
        f'<line x1="{PAD}" y1="{PAD + inner_h}" x2="{WIDTH - PAD}" y2="{PAD + inner_h}" '
        'stroke="#333"/>',
    ]
    for i, bar in enumerate(bars):
        h = max(bar.value, 0.0) / top * inner_h
        x = PAD + i * slot + slot * 0.15
        y = PAD + inner_h - h
        fill = "#9ab" if bar.estimated else "#2a6f97"
        label = f"{bar.period_end:%m/%y}"
        parts += [
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{fill}"><title>{label}: {bar.value:g} {escape(unit)}</title></rect>',
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" font-size="10" '
            f'text-anchor="middle" font-family="sans-serif">{bar.value:g}</text>',
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD + inner_h + 16}" font-size="10" '
            f'text-anchor="middle" font-family="sans-serif">{label}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)
