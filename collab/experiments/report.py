"""Plain-text tables of an experiment's results, shared by the commands."""

from __future__ import annotations

from collab.experiments.results import AGGREGATE_COLUMNS


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def aggregate_table(rows: list[dict]) -> list[str]:
    """The aggregate CSV's columns as aligned text, one line per condition and metric."""
    table = [AGGREGATE_COLUMNS] + [[cell(row[c]) for c in AGGREGATE_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(AGGREGATE_COLUMNS))]
    return ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
            for line in table]
