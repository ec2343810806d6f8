"""Reads on experiments: the runs table, per-condition statistics, CSV rows
and the manifest. Everything here is derived from the runs, which are copied
from their sessions' logs."""

from __future__ import annotations

import math
import statistics

from collab.experiments.models import Experiment, Run

R = Run.Status
COST_METRICS = ["tokens", "cost", "wall_seconds"]
RUN_COLUMNS = ["experiment", "condition", "condition_label", "seed", "repetition", "attempt", "session", "status",
               "complete", "ended_by", "reason", "started_at", "finished_at"]
AGGREGATE_COLUMNS = ["condition", "condition_label", "metric", "n", "mean", "sd", "ci95_low", "ci95_high"]


def numeric_metrics(metrics: dict) -> dict[str, float]:
    """The scalar numbers of a scenario's metrics (true/false as 1/0); lists and text are left out."""
    out = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, bool):
            out[key] = 1.0 if value else 0.0
        elif isinstance(value, int | float) and math.isfinite(value):
            out[key] = float(value)
    return out


def run_values(run: Run) -> dict[str, float]:
    values = numeric_metrics(run.metrics)
    values["tokens"] = float(run.tokens)
    values["cost"] = float(run.cost)
    if run.wall_seconds is not None:
        values["wall_seconds"] = float(run.wall_seconds)
    return values


def summarize(values: list[float]) -> dict:
    """n, mean, sample sd and the t-based 95% confidence interval of the mean
    (scipy); sd and the interval need two values, and a zero spread gives a
    zero-width interval."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "ci95_low": None, "ci95_high": None}
    mean = statistics.fmean(values)
    if n == 1:
        return {"n": 1, "mean": mean, "sd": None, "ci95_low": None, "ci95_high": None}
    sd = statistics.stdev(values)
    if sd == 0:
        return {"n": n, "mean": mean, "sd": 0.0, "ci95_low": mean, "ci95_high": mean}
    from scipy import stats as scipy_stats  # heavy: imported on use, so loading the URL conf stays quick

    low, high = scipy_stats.t.interval(0.95, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return {"n": n, "mean": mean, "sd": sd, "ci95_low": float(low), "ci95_high": float(high)}


def conditions(experiment: Experiment) -> list[dict]:
    return experiment.spec["conditions"]


def metric_names(runs: list[Run]) -> list[str]:
    names: set[str] = set()
    for run in runs:
        names |= set(numeric_metrics(run.metrics))
    return sorted(names) + COST_METRICS


def aggregates(experiment: Experiment, *, include_incomplete: bool = False) -> list[dict]:
    """One row per condition and metric. Only complete runs count unless
    include_incomplete (then runs cut short by max turns or budget count too;
    failed and cancelled runs never do)."""
    counted = {R.COMPLETE, R.INCOMPLETE} if include_incomplete else {R.COMPLETE}
    runs = list(experiment.runs.filter(status__in=counted))
    names = metric_names(runs)
    rows = []
    for index, condition in enumerate(conditions(experiment)):
        values = [run_values(r) for r in runs if r.condition_index == index]
        for name in names:
            numbers = [v[name] for v in values if name in v]
            rows.append({"condition": index + 1, "condition_label": condition["label"], "metric": name,
                         **summarize(numbers)})
    return rows


def progress(experiment: Experiment) -> dict:
    counts = {status: 0 for status in R.values}
    for status in experiment.runs.values_list("status", flat=True):
        counts[status] += 1
    total = sum(counts.values())
    done = total - counts[R.PENDING] - counts[R.RUNNING]
    return {"total": total, "done": done, "percent": round(100 * done / total) if total else 0, **counts}


def grid(experiment: Experiment) -> list[dict]:
    """Rows of the cell grid: one per condition, its cells in seed and repetition order."""
    runs = list(experiment.runs.all())
    rows = []
    for index, condition in enumerate(conditions(experiment)):
        cells = [r for r in runs if r.condition_index == index]
        rows.append({"index": index + 1, "label": condition["label"], "cells": cells})
    return rows


def failures(experiment: Experiment) -> list[Run]:
    return list(experiment.runs.filter(status__in=[R.FAILED, R.INCOMPLETE]).order_by("condition_index", "seed"))


def run_rows(experiment: Experiment) -> tuple[list[str], list[dict]]:
    runs = list(experiment.runs.all())
    labels = [c["label"] for c in conditions(experiment)]
    names = metric_names(runs)
    rows = []
    for run in runs:
        values = run_values(run) if run.done else {}
        rows.append({
            "experiment": experiment.pk, "condition": run.condition_index + 1,
            "condition_label": labels[run.condition_index], "seed": run.seed, "repetition": run.repetition,
            "attempt": run.attempt, "session": run.session_id or "", "status": run.status,
            "complete": run.status == R.COMPLETE, "ended_by": run.ended_by, "reason": run.reason,
            "started_at": run.started_at.isoformat() if run.started_at else "",
            "finished_at": run.finished_at.isoformat() if run.finished_at else "",
            **{name: values.get(name, "") for name in names},
        })
    return RUN_COLUMNS + names, rows


def manifest(experiment: Experiment) -> dict:
    """The stored manifest (version, commit, conditions with models and
    parameters, seeds) with the experiment's times and every run's end."""
    return {
        **experiment.manifest,
        "status": experiment.status,
        "started_at": experiment.started_at.isoformat() if experiment.started_at else None,
        "finished_at": experiment.finished_at.isoformat() if experiment.finished_at else None,
        "runs": [{
            "condition": run.condition_index + 1, "seed": run.seed, "repetition": run.repetition,
            "attempt": run.attempt, "session": run.session_id, "status": run.status,
            "complete": run.status == R.COMPLETE, "ended_by": run.ended_by, "reason": run.reason,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        } for run in experiment.runs.all()],
    }


def pivot(rows: list[dict]) -> dict:
    """Aggregate rows as a metric x condition table for the page."""
    labels: dict[int, str] = {}
    table: dict[str, dict[int, dict]] = {}
    for row in rows:
        labels[row["condition"]] = row["condition_label"]
        table.setdefault(row["metric"], {})[row["condition"]] = row
    order = sorted(labels)
    return {"conditions": [(i, labels[i]) for i in order],
            "metrics": [{"metric": m, "cells": [cells.get(i) for i in order]} for m, cells in table.items()]}
