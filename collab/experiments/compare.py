"""Two or more sessions side by side: score curves aligned by round (the last
scenario state of each round), the per-round difference from the first
session, and the turns' messages aligned by turn index. When the sessions
are a fork and its origin, everything starts at the fork point."""

from __future__ import annotations

from collab.experiments.results import numeric_metrics
from collab.sessions import selectors
from collab.sessions.models import Session

MAX_SESSIONS = 6


def by_round(points: list[dict]) -> dict:
    """Round -> metrics after that round's last scenario state."""
    rounds: dict = {}
    for point in points:
        if point["round"] is not None:
            rounds[point["round"]] = numeric_metrics(point["metrics"])
    return rounds


def fork_start(sessions: list[Session]) -> tuple[int, int]:
    """(seq, turn) from which a fork and its origin differ; (0, 0) otherwise."""
    ids = {s.pk for s in sessions}
    for s in sessions:
        if s.forked_from_id in ids and s.forked_at_seq:
            turn = next((p["turn_index"] for p in reversed(selectors.scenario_points(s.pk))
                         if p["seq"] <= s.forked_at_seq and p["turn_index"] is not None), None)
            return s.forked_at_seq, (turn + 1 if turn is not None else 0)
    return 0, 0


def side_by_side(sessions: list[Session], metric: str = "") -> dict:
    series = {s.pk: by_round(selectors.scenario_points(s.pk)) for s in sessions}
    metrics = sorted({m for rounds in series.values() for values in rounds.values() for m in values})
    metric = metric if metric in metrics else (metrics[0] if metrics else "")
    start_seq, start_turn = fork_start(sessions)
    fork_round = None
    if start_seq:
        points = [p for p in selectors.scenario_points(sessions[0].pk) if p["seq"] <= start_seq]
        fork_round = points[-1]["round"] if points else None
    rounds = sorted({r for rounds in series.values() for r in rounds}, key=lambda r: (str(type(r)), r))
    if fork_round is not None:
        rounds = [r for r in rounds if not isinstance(r, int) or not isinstance(fork_round, int) or r >= fork_round]
    table = []
    for r in rounds:
        values = [series[s.pk].get(r, {}).get(metric) for s in sessions]
        base = values[0]
        diffs = [None if v is None or base is None else v - base for v in values[1:]]
        table.append({"round": r, "values": values, "diffs": diffs})
    chart = {"type": "line", "title": f"{metric.replace('_', ' ')} by round" if metric else "No scenario scores",
             "x": [row["round"] for row in table],
             "series": [{"name": f"#{s.pk} {s.title}"[:40], "values": [row["values"][i] for row in table]}
                        for i, s in enumerate(sessions)]}
    turns = [selectors.turn_messages(s.pk, start_seq) for s in sessions]
    indices = sorted({t for per in turns for t in per if t >= start_turn})
    aligned = [{"turn": t, "cells": [per.get(t, []) for per in turns]} for t in indices]
    return {"metric": metric, "metrics": metrics, "table": table, "chart": chart, "turns": aligned,
            "fork_seq": start_seq, "fork_round": fork_round}
