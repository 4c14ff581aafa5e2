"""Charts as inline SVG, drawn on the server from the figures: no chart library, no script.

Colours come from CSS classes (static/dashboard.css), so the page's Content-Security-Policy
needs no inline styles. Every text that ends up in the SVG is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

W, H = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 26, 38


def nice_max(value: float, *, whole: bool = False) -> float:
    """A top for the y axis ≥ value whose quarters are round: 4 × (1, 2, 2.5, 3 or 5 × 10^k);
    `whole`: counts, so the quarters are whole numbers (a top of at least 4)."""
    if whole:
        value = max(value, 4)
    if value <= 0:
        return 4.0
    quarter = value / 4
    exp = math.floor(math.log10(quarter))
    for step in (1, 2, 2.5, 3, 5, 10):
        if step * 10**exp >= quarter and (not whole or float(step * 10**exp).is_integer()):
            return float(4 * step * 10**exp)
    return float(4 * 10 ** (exp + 1))  # pragma: no cover


def _fmt(v: float) -> str:
    if v >= 100 or float(v).is_integer():
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.1f}"


def _frame(
    labels: Sequence[str], top: float, title: str, unit: str
) -> tuple[list[str], float, float]:
    """Axes, grid and x labels; returns (svg parts, plot width, plot height)."""
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        v = top * i / 4
        y = TOP + ph - ph * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="ytick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(v))}</text>"
        )
    if unit:
        parts.append(
            f'<text class="unit" x="{LEFT - 6}" y="12" text-anchor="end">{escape(unit)}</text>'
        )
    n = max(1, len(labels))
    every = max(1, math.ceil(n / 14))
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = LEFT + pw * (i + 0.5) / n
        parts.append(
            f'<text class="xtick" x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}"/>'
    )
    return parts, pw, ph


def _legend(series: Sequence[tuple[str, str]]) -> str:
    parts, x = [], LEFT
    for name, css in series:
        parts.append(f'<rect class="{css}" x="{x}" y="{H - 14}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="{H - 5}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(parts)


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    title: str,
    unit: str = "",
    top: float | None = None,
) -> Markup:
    """Stacked bars: one bar per label, one segment per series (name, values, css class)."""
    totals = [sum(s[1][i] for s in series) for i in range(len(labels))]
    top = top or nice_max(max(totals, default=0), whole=True)
    parts, pw, ph = _frame(labels, top, title, unit)
    n = max(1, len(labels))
    bw = pw / n * 0.7
    for i, label in enumerate(labels):
        x = LEFT + pw * (i + 0.5) / n - bw / 2
        base = TOP + ph
        for name, values, css in series:
            v = values[i]
            if v <= 0:
                continue
            h = ph * v / top
            base -= h
            parts.append(
                f'<rect class="{css}" x="{x:.1f}" y="{base:.1f}" width="{bw:.1f}" '
                f'height="{h:.1f}"><title>{escape(label)} — {escape(name)}: '
                f"{escape(_fmt(v))}</title></rect>"
            )
    parts.append(_legend([(name, css) for name, _, css in series]))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    title: str,
    unit: str = "",
) -> Markup:
    """Lines with points; a None value leaves a gap."""
    values = [v for _, vs, _ in series for v in vs if v is not None]
    top = nice_max(max(values, default=0))
    parts, pw, ph = _frame(labels, top, title, unit)
    n = max(1, len(labels))
    for name, vs, css in reversed(series):  # the first series is drawn last, on top
        points: list[tuple[float, float, float, str]] = []
        segments: list[list[tuple[float, float, float, str]]] = [points]
        for i, v in enumerate(vs):
            if v is None:
                points = []
                segments.append(points)
                continue
            points.append((LEFT + pw * (i + 0.5) / n, TOP + ph - ph * v / top, v, labels[i]))
        for seg in segments:
            if len(seg) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in seg)
                parts.append(f'<polyline class="line {css}" points="{path}"/>')
            for x, y, v, label in seg:
                parts.append(
                    f'<circle class="dot {css}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                    f"<title>{escape(label)} — {escape(name)}: {escape(_fmt(v))}</title></circle>"
                )
    parts.append(_legend([(name, css) for name, _, css in series]))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)
