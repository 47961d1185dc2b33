"""Small inline-SVG charts for the HTML report (no plotting dependency; deterministic output).

Every chart is a self-contained `<svg>` string with a title, labelled axes, a legend outside the plot area and
`<title>` tooltips that give the exact values, so the figure reads offline and the numbers stay inspectable.
Line charts give each series its own colour, marker shape and dash pattern, and spread coinciding markers a few
pixels apart, so that identical curves (two runs at 100 %) stay visible instead of hiding each other.
Callers pass values in the unit they print (percent, `lvsbench.metrics.names.as_percent`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE: tuple[str, ...] = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477",
                            "#66aa00", "#b82e2e", "#316395")
"""Colour of the i-th series (cycled)."""

_FONT = 'font-family="Helvetica, Arial, sans-serif"'


_FIXED: dict[str, str] = {}
"""Series name -> colour, set by `fix_colours` so that a run keeps its colour in every chart of a report."""


def fix_colours(names: Sequence[str]) -> None:
    """Give each name a stable colour (in the given order) for the charts drawn next."""
    _FIXED.clear()
    for i, n in enumerate(names):
        _FIXED[n] = PALETTE[i % len(PALETTE)]


def colour(i: int, name: str | None = None) -> str:
    if name is not None and name in _FIXED:
        return _FIXED[name]
    return PALETTE[i % len(PALETTE)]


def style(i: int, name: str | None = None) -> int:
    """Index of a series' marker and dash pattern: fixed per name like its colour (`fix_colours`), so a run looks
    the same in every chart."""
    if name is not None and name in _FIXED:
        return list(_FIXED).index(name)
    return i


def _f(x: float) -> str:
    """Coordinates with one decimal (stable text, small files)."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def _nice_max(v: float) -> float:
    if v <= 0 or not math.isfinite(v):
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    step = (hi - lo) / n
    return [lo + i * step for i in range(n + 1)]


MARKERS: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "triangle-down", "cross")
DASHES: tuple[str, ...] = ("", "6,3", "2,2", "8,3,2,3", "4,4", "1,3")
"""Marker shape and stroke-dasharray of the i-th series (cycled), so series differ without colour too."""


def marker(i: int, cx: float, cy: float, fill: str, r: float = 4.0, tip: str = "") -> str:
    """The i-th series' marker centred on (cx, cy), with an optional tooltip."""
    shape = MARKERS[i % len(MARKERS)]
    t = f"<title>{escape(tip)}</title>" if tip else ""
    if shape == "circle":
        return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="{fill}" stroke="white">{t}</circle>'
    if shape == "square":
        return (f'<rect x="{_f(cx - r)}" y="{_f(cy - r)}" width="{_f(2 * r)}" height="{_f(2 * r)}" fill="{fill}" '
                f'stroke="white">{t}</rect>')
    if shape == "cross":
        d = r * 0.9
        return (f'<path d="M{_f(cx - d)},{_f(cy - d)}L{_f(cx + d)},{_f(cy + d)}M{_f(cx - d)},{_f(cy + d)}'
                f'L{_f(cx + d)},{_f(cy - d)}" stroke="{fill}" stroke-width="2.5" fill="none">{t}</path>')
    r2 = r * 1.25
    pts = {"triangle": [(cx, cy - r2), (cx + r2, cy + r2 * 0.8), (cx - r2, cy + r2 * 0.8)],
           "triangle-down": [(cx, cy + r2), (cx + r2, cy - r2 * 0.8), (cx - r2, cy - r2 * 0.8)],
           "diamond": [(cx, cy - r2), (cx + r2, cy), (cx, cy + r2), (cx - r2, cy)]}[shape]
    return (f'<polygon points="{" ".join(f"{_f(a)},{_f(b)}" for a, b in pts)}" fill="{fill}" stroke="white">{t}'
            "</polygon>")


def _legend(names: Sequence[str], x: float, y: float, lines: bool = False) -> list[str]:
    """Legend entries, one per line, outside the plot area (a swatch, or a line sample with its marker)."""
    out = []
    for i, name in enumerate(names):
        yy = y + 16 * i
        c, k = colour(i, name), style(i, name)
        if lines:
            dash = DASHES[k % len(DASHES)]
            out.append(f'<line x1="{_f(x - 4)}" x2="{_f(x + 16)}" y1="{_f(yy - 4)}" y2="{_f(yy - 4)}" stroke="{c}" '
                       f'stroke-width="2"{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}/>')
            out.append(marker(k, x + 6, yy - 4, c, 3.5))
            tx = x + 22
        else:
            out.append(f'<rect x="{_f(x)}" y="{_f(yy - 9)}" width="10" height="10" fill="{c}"/>')
            tx = x + 14
        label = name if len(name) <= 22 else name[:21] + "…"
        out.append(f'<text x="{_f(tx)}" y="{_f(yy)}" font-size="11" {_FONT}><title>{escape(name)}</title>'
                   f"{escape(label)}</text>")
    return out


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">')
    return "\n".join([head, f'<rect width="{width}" height="{height}" fill="white"/>',
                      f'<text x="{_f(width / 2)}" y="18" text-anchor="middle" font-size="13" font-weight="bold" '
                      f'{_FONT}>{escape(title)}</text>', *body, "</svg>"])


def bar_chart(categories: Sequence[str], series: dict[str, Sequence[float | None]], *, title: str,
              ylabel: str = "", ymax: float | None = None, counts: Sequence[int] | None = None,
              width: int = 580, height: int = 300, unit: str = "") -> str:
    """Grouped vertical bars: one group per category, one bar per series (None = no bar).

    `counts` (per category) are printed under the labels as `n=...`; `unit` follows the values in the tooltips.
    """
    names = list(series)
    legend_w = 160 if len(names) > 1 else 0
    left, right, top, bottom = 52, 12 + legend_w, 30, 58
    pw, ph = width - left - right, height - top - bottom
    vals = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    top_v = ymax if ymax is not None else _nice_max(max(vals) if vals else 1.0)
    lo_v = min(0.0, min(vals)) if vals else 0.0
    span = (top_v - lo_v) or 1.0

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo_v) / span)

    body = []
    for t in _ticks(lo_v, top_v):
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{_f(y(t))}" y2="{_f(y(t))}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 4}" y="{_f(y(t) + 4)}" text-anchor="end" font-size="10" {_FONT}>'
                    f'{t:.3g}</text>')
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#333"/>')
    body.append(f'<line x1="{left}" x2="{left + pw}" y1="{_f(y(max(lo_v, 0.0)))}" y2="{_f(y(max(lo_v, 0.0)))}" '
                f'stroke="#333"/>')
    n_cat = max(1, len(categories))
    group_w = pw / n_cat
    bar_w = group_w * 0.8 / max(1, len(names))
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + group_w * 0.1
        for si, name in enumerate(names):
            v = series[name][ci]
            if v is None or not math.isfinite(v):
                continue
            x0 = gx + si * bar_w
            y0, y1 = sorted((y(v), y(max(lo_v, 0.0))))
            body.append(f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(max(bar_w - 1, 1))}" '
                        f'height="{_f(max(y1 - y0, 0.5))}" fill="{colour(si, name)}"><title>{escape(name)} · '
                        f'{escape(cat)}: {v:.2f}{unit}</title></rect>')
        cx = left + (ci + 0.5) * group_w
        label = cat if len(cat) <= 20 else cat[:19] + "…"
        body.append(f'<text x="{_f(cx)}" y="{top + ph + 14}" text-anchor="middle" font-size="10" {_FONT}>'
                    f'{escape(label)}</text>')
        if counts is not None:
            body.append(f'<text x="{_f(cx)}" y="{top + ph + 27}" text-anchor="middle" font-size="9" fill="#666" '
                        f'{_FONT}>n={counts[ci]}</text>')
    if ylabel:
        body.append(f'<text x="12" y="{_f(top + ph / 2)}" transform="rotate(-90 12 {_f(top + ph / 2)})" '
                    f'text-anchor="middle" font-size="11" {_FONT}>{escape(ylabel)}</text>')
    if legend_w:
        body += _legend(names, width - legend_w + 4, top + 10)
    return _frame(width, height, title, body)


def line_chart(xs: Sequence[float], series: dict[str, Sequence[float]], *, title: str, xlabel: str = "",
               ylabel: str = "", ymin: float = 0.0, ymax: float | None = 100.0, width: int = 580,
               height: int = 300, unit: str = "") -> str:
    """Lines with markers over shared x values (e.g. precision at IoU thresholds, one line per run).

    Each series has its own colour, marker and dash pattern; series are drawn with a small horizontal offset
    (`dodge`) so that equal values (several runs at 0 or 100) show every marker side by side.
    """
    names = list(series)
    legend_w = 160
    left, right, top, bottom = 52, 12 + legend_w, 30, 44
    pw, ph = width - left - right, height - top - bottom
    vals = [v for s in series.values() for v in s if math.isfinite(v)]
    hi = ymax if ymax is not None else _nice_max(max(vals) if vals else 1.0)
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    xpad = 0.05 * ((x_hi - x_lo) or 1.0)  # markers at the ends stay inside the frame, clear of the axis labels
    x_lo, x_hi = x_lo - xpad, x_hi + xpad
    xspan = (x_hi - x_lo) or 1.0
    ypad = 0.05 * ((hi - ymin) or 1.0)
    yspan = (hi - ymin + 2 * ypad) or 1.0

    def px(v: float) -> float:
        return left + pw * (v - x_lo) / xspan

    def py(v: float) -> float:
        return top + ph * (1 - (v - ymin + ypad) / yspan)

    body = []
    for t in _ticks(ymin, hi):
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{_f(py(t))}" y2="{_f(py(t))}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 4}" y="{_f(py(t) + 4)}" text-anchor="end" font-size="10" {_FONT}>'
                    f'{t:.3g}</text>')
    for x in xs:
        body.append(f'<text x="{_f(px(x))}" y="{top + ph + 14}" text-anchor="middle" font-size="10" {_FONT}>'
                    f'{x:g}</text>')
    body.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    step = min(5.0, pw / max(1, len(xs)) / max(2, len(names) + 1))
    for si, name in enumerate(names):
        dodge = (si - (len(names) - 1) / 2) * step
        k = style(si, name)
        c, dash = colour(si, name), DASHES[k % len(DASHES)]
        pts = [(px(x) + dodge, py(v)) for x, v in zip(xs, series[name], strict=True) if math.isfinite(v)]
        if pts:
            body.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" stroke-opacity="0.85"'
                        + (f' stroke-dasharray="{dash}"' if dash else "") + ' points="'
                        + " ".join(f"{_f(a)},{_f(b)}" for a, b in pts) + '"/>')
        for x, v in zip(xs, series[name], strict=True):
            if math.isfinite(v):
                body.append(marker(k, px(x) + dodge, py(v), c, 4.0, f"{name} @ {x:g}: {v:.2f}{unit}"))
    if xlabel:
        body.append(f'<text x="{_f(left + pw / 2)}" y="{height - 8}" text-anchor="middle" font-size="11" '
                    f'{_FONT}>{escape(xlabel)}</text>')
    if ylabel:
        body.append(f'<text x="12" y="{_f(top + ph / 2)}" transform="rotate(-90 12 {_f(top + ph / 2)})" '
                    f'text-anchor="middle" font-size="11" {_FONT}>{escape(ylabel)}</text>')
    body += _legend(names, width - legend_w + 10, top + 10, lines=True)
    return _frame(width, height, title, body)


def interval_chart(labels: Sequence[str], estimates: Sequence[float], lows: Sequence[float],
                   highs: Sequence[float], *, title: str, xlabel: str = "", width: int = 580) -> str:
    """Horizontal estimates with confidence intervals around a zero line (paired differences)."""
    n = len(labels)
    left, right, top, row = 150, 20, 30, 22
    height = top + row * n + 40
    pw = width - left - right
    ext = max([abs(v) for v in (*lows, *highs, *estimates) if math.isfinite(v)] + [1e-9])
    ext = _nice_max(ext)

    def px(v: float) -> float:
        return left + pw * (v + ext) / (2 * ext)

    body = [f'<line x1="{_f(px(0))}" x2="{_f(px(0))}" y1="{top}" y2="{top + row * n}" stroke="#333" '
            f'stroke-dasharray="3,3"/>']
    for t in _ticks(-ext, ext, 4):
        body.append(f'<text x="{_f(px(t))}" y="{top + row * n + 14}" text-anchor="middle" font-size="10" '
                    f'{_FONT}>{t:.3g}</text>')
    for i, (lab, est, lo, hi) in enumerate(zip(labels, estimates, lows, highs, strict=True)):
        yy = top + row * i + row / 2
        sig = lo > 0 or hi < 0
        c = "#109618" if sig and est > 0 else "#dc3912" if sig else "#777"
        body.append(f'<text x="{left - 6}" y="{_f(yy + 4)}" text-anchor="end" font-size="11" {_FONT}>'
                    f'{escape(lab)}</text>')
        body.append(f'<line x1="{_f(px(lo))}" x2="{_f(px(hi))}" y1="{_f(yy)}" y2="{_f(yy)}" stroke="{c}" '
                    f'stroke-width="2"/>')
        body.append(f'<circle cx="{_f(px(est))}" cy="{_f(yy)}" r="4" fill="{c}"><title>{escape(lab)}: '
                    f'{est:+.2f} [{lo:+.2f}, {hi:+.2f}]</title></circle>')
    if xlabel:
        body.append(f'<text x="{_f(left + pw / 2)}" y="{height - 6}" text-anchor="middle" font-size="11" '
                    f'{_FONT}>{escape(xlabel)}</text>')
    return _frame(width, height, title, body)


__all__ = ["DASHES", "MARKERS", "PALETTE", "bar_chart", "colour", "fix_colours", "interval_chart", "line_chart",
           "marker", "style"]
