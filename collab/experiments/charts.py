"""Server-rendered SVG: one chart per metric, each condition's mean with its
95% interval as a whisker. No JS; every label is escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from collab.live.charts import PALETTE, _fmt

WIDTH, ROW, LEFT, RIGHT, TOP = 360, 28, 130, 14, 8


def interval_chart(metric: str, rows: list[dict]) -> SafeString:
    """rows: aggregate rows of one metric (condition_label, n, mean, ci95_low, ci95_high)."""
    points = [r for r in rows if r["mean"] is not None]
    if not points:
        return mark_safe(f'<figure class="chart"><figcaption class="chart-title">{escape(metric)}</figcaption>'
                         '<p class="chart-empty">No complete runs yet.</p></figure>')
    lows = [r["ci95_low"] if r["ci95_low"] is not None else r["mean"] for r in points]
    highs = [r["ci95_high"] if r["ci95_high"] is not None else r["mean"] for r in points]
    lo, hi = min(lows + [0.0]), max(highs + [0.0])
    span = (hi - lo) or 1.0
    height = TOP * 2 + ROW * len(points) + 18

    def x(value: float) -> float:
        return LEFT + (value - lo) / span * (WIDTH - LEFT - RIGHT)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-label="{escape(metric)}: mean and 95% interval per condition">']
    zero = x(0.0)
    parts.append(f'<line x1="{zero:.1f}" y1="{TOP}" x2="{zero:.1f}" y2="{height - 18}" stroke="#c3c9d6"/>')
    for i, (row, low, high) in enumerate(zip(points, lows, highs, strict=True)):
        y = TOP + ROW * i + ROW / 2
        colour = PALETTE[i % len(PALETTE)]
        label = row["condition_label"]
        # The grid key's "params." prefix is the same on every row: leave it out of the axis label.
        short = label.replace("params.", "")
        short = short if len(short) <= 18 else short[:17] + "…"
        interval = (f"{_fmt(low)} to {_fmt(high)}" if row["ci95_low"] is not None else "no interval (n < 2)")
        parts.append(f'<g><title>{escape(label)}: mean {_fmt(row["mean"])}, 95% CI {interval}, n = {row["n"]}'
                     '</title>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{escape(short)}</text>')
        parts.append(f'<line x1="{x(low):.1f}" y1="{y:.1f}" x2="{x(high):.1f}" y2="{y:.1f}" stroke="{colour}" '
                     'stroke-width="2"/>')
        for end in (low, high):
            parts.append(f'<line x1="{x(end):.1f}" y1="{y - 5:.1f}" x2="{x(end):.1f}" y2="{y + 5:.1f}" '
                         f'stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(row["mean"]):.1f}" cy="{y:.1f}" r="4" fill="{colour}"/></g>')
    axis_y = height - 6
    parts.append(f'<text x="{LEFT}" y="{axis_y}" font-size="11" fill="#586074">{_fmt(lo)}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{axis_y}" font-size="11" fill="#586074" '
                 f'text-anchor="end">{_fmt(hi)}</text>')
    parts.append("</svg>")
    return mark_safe(f'<figure class="chart"><figcaption class="chart-title">{escape(metric)}</figcaption>'
                     + "".join(parts) + "</figure>")


def charts(aggregate_rows: list[dict]) -> list[SafeString]:
    by_metric: dict[str, list[dict]] = {}
    for row in aggregate_rows:
        by_metric.setdefault(row["metric"], []).append(row)
    return [interval_chart(metric, rows) for metric, rows in by_metric.items()]
