"""Server-side SVG charts for scenario panels: no JS, no external libraries.

`render_chart(chart)` turns a scenario's chart dict

    {"type": "line" | "bar", "title": str, "x": [labels or numbers],
     "series": [{"name": str, "values": [numbers or None]}]}

into a `<figure class="chart">` holding an inline, responsive SVG (viewBox, width
100%) and an HTML legend. Every label comes from scenario state or user-editable
params, so all text is escaped. Malformed input (missing keys, ragged series,
None or non-numeric values) is tolerated: missing values are simply not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Okabe-Ito based: distinguishable with common colour-vision deficiencies and at
# least 3:1 against white. Series past the palette reuse it with a dash pattern.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8F6B00", "#332288", "#5F6B7A", "#882255")
DASHES = ("", "6 4", "2 3", "8 3 2 3")

WIDTH = 400  # viewBox units; the SVG itself scales to its container
PLOT_HEIGHT = 170
TOP = 10
RIGHT = 12
BOTTOM = 26  # room for the x labels
CHAR_W = 6.6  # rough advance of one character at the 11px chart font
LINE_H = 13
MAX_BAR = 44  # widest bar, so a lone series does not become a wall
Y_TICKS = 5


def _number(value) -> float | None:
    """A finite int/float, else None (None, bools, strings, NaN and inf are not plotted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: float) -> str:
    """Compact number text: integers without decimals, others to at most 3 decimals."""
    value = round(value, 3)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _label(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _truncate(text: str, max_chars: int) -> str:
    max_chars = max(max_chars, 2)
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= raw."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw - 1e-12:
            return m * power
    return 10 * power


def nice_ticks(low: float, high: float, count: int = Y_TICKS, integer: bool = False) -> list[float]:
    """Rounded tick values covering [min(low, 0), max(high, 0)], starting or ending at 0.
    With `integer` (counts, tons) the step is at least 1."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:
        high = 1.0
    step = _nice_step((high - low) / (count - 1))
    if integer:
        step = max(step, 1.0)
    start = math.floor(low / step + 1e-9)
    stop = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(start, stop + 1)]


def _x_step(n: int, labels: Sequence[str], plot_w: float) -> int:
    """Show every k-th x label so they do not overlap (k in 1, 2, 5, 10, 20, 50 ...)."""
    widest = max((len(s) for s in labels), default=1)
    fits = max(1, int(plot_w // (min(widest, 14) * CHAR_W + 10)))
    if n <= fits:
        return 1
    k = 1
    while True:
        for m in (1, 2, 5):
            if math.ceil(n / (k * m)) <= fits:
                return k * m
        k *= 10


def _wrap(text: str, max_chars: int) -> list[str]:
    """Up to two lines of at most max_chars, split at spaces; the rest is truncated."""
    if len(text) <= max_chars:
        return [text]
    cut = text.rfind(" ", 0, max_chars + 1)
    if cut <= 0:
        return [_truncate(text, max_chars)]
    return [text[:cut], _truncate(text[cut + 1:].strip(), max_chars)]


def _placeholder(title: str, dom_id: str) -> SafeString:
    return mark_safe(
        f'<figure class="chart chart-empty" id="{escape(dom_id)}" data-points="0">'
        f'<figcaption class="chart-title">{escape(title)}</figcaption>'
        '<p class="chart-placeholder">No data yet</p></figure>'
    )


def render_chart(chart: dict | None, dom_id: str = "scenario-chart") -> str:
    """Render a scenario chart dict as safe HTML (a `<figure>` with an inline SVG)."""
    if not isinstance(chart, dict):
        return _placeholder("Scenario chart", dom_id)
    title = str(chart.get("title") or "Scenario chart")
    kind = "bar" if chart.get("type") == "bar" else "line"
    raw_series = [s for s in chart.get("series") or [] if isinstance(s, dict)]
    x = list(chart.get("x") or [])
    if not x:  # no labels but values: number the points 1..n
        longest = max((len(s.get("values") or []) for s in raw_series), default=0)
        x = list(range(1, longest + 1))
    n = len(x)
    series = []
    for s in raw_series:
        values = list(s.get("values") or [])[:n]
        values += [None] * (n - len(values))
        series.append((str(s.get("name") or f"Series {len(series) + 1}"), [_number(v) for v in values]))
    numbers = [v for _, values in series for v in values if v is not None]
    if n == 0 or not numbers:
        return _placeholder(title, dom_id)

    ticks = nice_ticks(min(numbers), max(numbers), integer=all(v.is_integer() for v in numbers))
    y_min, y_max = ticks[0], ticks[-1]
    tick_text = [_fmt(t) for t in ticks]
    left = 14 + CHAR_W * max(len(t) for t in tick_text)
    plot_w = WIDTH - left - RIGHT
    band = plot_w / n
    labels = [_label(v) for v in x]
    # Line charts (ordered x) show every k-th label; bar categories are all shown, wrapped
    # onto two lines and truncated to their band (full text in a <title>) unless far too narrow.
    if kind == "bar" and band >= 4 * CHAR_W:
        step = 1
        label_lines = [_wrap(t, int((band - 4) // CHAR_W)) for t in labels]
    else:
        step = _x_step(n, labels, plot_w)
        label_lines = [[_truncate(t, int((band * step - 4) // CHAR_W))] for t in labels]
    extra = LINE_H if any(len(lines) > 1 for lines in label_lines) else 0
    height = TOP + PLOT_HEIGHT + BOTTOM + extra
    bottom_y = TOP + PLOT_HEIGHT

    def px(i: int) -> float:
        return left + band * (i + 0.5)

    def py(v: float) -> float:
        return bottom_y - (v - y_min) / (y_max - y_min) * PLOT_HEIGHT

    sid = escape(dom_id)
    out = [
        f'<figure class="chart chart-{kind}" id="{sid}" data-points="{n}">',
        f'<figcaption class="chart-title" id="{sid}-title">{escape(title)}</figcaption>',
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{sid}-title" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
    ]

    # Grid lines and y tick labels.
    out.append('<g class="chart-grid">')
    for t, text in zip(ticks, tick_text, strict=True):
        y = py(t)
        out.append(f'<line class="grid-line" x1="{left:.1f}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#dde1ea" stroke-width="1"/>')
        out.append(f'<text class="chart-tick" x="{left - 6:.1f}" y="{y + 3.5:.1f}" text-anchor="end" '
                   f'fill="#586074">{text}</text>')
    out.append("</g>")

    # Axes: y on the left, x along zero (the bottom unless values go negative).
    zero_y = py(0.0)
    out.append(f'<g class="chart-axes" stroke="#8a93a6" stroke-width="1">'
               f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{TOP}" y2="{bottom_y}"/>'
               f'<line x1="{left:.1f}" x2="{WIDTH - RIGHT}" y1="{zero_y:.1f}" y2="{zero_y:.1f}"/></g>')

    # X labels, thinned so they never overlap; long ones are truncated (full text in <title>).
    out.append('<g class="chart-xlabels">')
    whole = all(isinstance(v, int) and not isinstance(v, bool) for v in x)  # label months 5, 10, 15 ...
    for i, text in enumerate(labels):
        if (x[i] if whole else i) % step:
            continue
        lines = label_lines[i]
        hint = f"<title>{escape(text)}</title>" if " ".join(lines) != text else ""
        body = escape(lines[0]) if len(lines) == 1 else "".join(
            f'<tspan x="{px(i):.1f}" dy="{0 if j == 0 else LINE_H}">{escape(line)}</tspan>'
            for j, line in enumerate(lines))
        out.append(f'<text class="chart-xlabel" x="{px(i):.1f}" y="{bottom_y + 16}" text-anchor="middle" '
                   f'fill="#586074">{hint}{body}</text>')
    out.append("</g>")

    # Data.
    radius = 3 if n <= 40 else 2
    bar_w = min(band * 0.8 / max(len(series), 1), MAX_BAR)
    group_w = bar_w * len(series)
    for index, (name, values) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        dash = DASHES[(index // len(PALETTE)) % len(DASHES)]
        ename = escape(name)
        out.append(f'<g class="chart-series" data-series="{index}">')
        if kind == "line":
            run: list[str] = []
            runs: list[list[str]] = []
            for i, v in enumerate(values):
                if v is None:
                    if run:
                        runs.append(run)
                    run = []
                else:
                    run.append(f"{px(i):.1f},{py(v):.1f}")
            if run:
                runs.append(run)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            for points in runs:
                if len(points) > 1:
                    out.append(f'<polyline class="chart-line" points="{" ".join(points)}" fill="none" '
                               f'stroke="{color}" stroke-width="2" stroke-linejoin="round" '
                               f'stroke-linecap="round"{dash_attr}/>')
            for i, v in enumerate(values):
                if v is not None:
                    tip = f"{escape(labels[i])} · {ename}: {_fmt(v)}"
                    out.append(f'<circle class="chart-point" cx="{px(i):.1f}" cy="{py(v):.1f}" r="{radius}" '
                               f'fill="{color}" stroke="#ffffff" stroke-width="1"><title>{tip}</title></circle>')
        else:
            for i, v in enumerate(values):
                if v is None:
                    continue
                bx = left + band * i + (band - group_w) / 2 + bar_w * index
                top, base = sorted((py(v), zero_y))
                if base - top < 0.75:  # a zero still shows as a hairline
                    top, base = zero_y - 0.75, zero_y
                tip = f"{escape(labels[i])} · {ename}: {_fmt(v)}"
                out.append(f'<rect class="chart-bar" x="{bx + 0.5:.1f}" y="{top:.1f}" '
                           f'width="{max(bar_w - 1, 1):.1f}" height="{base - top:.1f}" rx="1.5" fill="{color}">'
                           f"<title>{tip}</title></rect>")
        out.append("</g>")
    out.append("</svg>")

    # Legend (HTML, so it wraps on narrow screens; the swatch colours match the SVG).
    out.append('<ul class="chart-legend">')
    for index, (name, _) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        dash = DASHES[(index // len(PALETTE)) % len(DASHES)]
        shape = " dashed" if dash else ""
        out.append(f'<li><span class="swatch swatch-{kind}{shape}" style="--role-color: {color}" '
                   f'aria-hidden="true"></span>{escape(name)}</li>')
    out.append("</ul></figure>")
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text above is escaped
