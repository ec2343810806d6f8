"""An experiment runs its grid through the real worker; its CSV aggregates
equal a recomputation from the runs' own session logs."""

import csv
import io
import math
import statistics

import pytest
from scipy import stats

from collab.experiments import services
from collab.experiments.models import Experiment, Run
from collab.sessions.models import Event, LLMCall, Session
from tests.engine_helpers import wait_until

SPEC = """
title: Public goods, standard vs MAC-SPGG
base:
  preset: public_goods_group
  params: {rounds: 3, shuffle_order: true}
  strategies: {Player 1: cooperator, Player 2: free_rider, Player 3: conditional, Player 4: conditional}
grid:
  params.reward: [standard, mac_spgg]
seeds: 10
parallel: 8
"""


def recompute(session_id: int) -> dict:
    """A run's figures straight from its log: the last scenario metrics, the
    final state's ended_by, the wall time between its state events, tokens."""
    events = list(Event.objects.filter(session_id=session_id).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    states = [e for e in events if e.kind == "state"]
    metrics = next(e.payload["metrics"] for e in reversed(events) if e.kind == "scenario_state")
    started = next(e.created_at for e in states if e.payload["status"] == "running")
    calls = LLMCall.objects.filter(session_id=session_id)
    return {
        **{k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        "ended_by": states[-1].payload.get("ended_by"),
        "wall_seconds": (states[-1].created_at - started).total_seconds(),
        "tokens": float(sum(c.prompt_tokens + c.completion_tokens for c in calls)),
        "cost": float(sum(c.cost for c in calls)),
    }


def t_interval(values):
    n, mean = len(values), statistics.fmean(values)
    sd = statistics.stdev(values)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


@pytest.mark.django_db(transaction=True)
def test_two_conditions_by_ten_seeds_run_to_the_end_and_the_csv_matches_the_logs(owner, worker, client):
    experiment = services.experiment_create(owner=owner, text=SPEC)
    assert experiment.runs.count() == 20
    services.experiment_start(experiment=experiment, user=owner)
    wait_until(lambda: Experiment.objects.get(pk=experiment.pk).status == "finished", timeout=240,
               what="the experiment to finish")
    runs = list(Run.objects.filter(experiment=experiment))
    assert {r.status for r in runs} == {"complete"} and all(r.session_id for r in runs)
    assert {r.session.status for r in runs} == {"finished"}
    # The seeds reach the sessions: each condition has ten different seeds, and they change the outcome.
    assert sorted(Session.objects.filter(experiment_runs__experiment=experiment).values_list("seed", flat=True)) == \
        sorted(list(range(10)) * 2)

    client.force_login(owner)
    response = client.get(f"/experiments/{experiment.pk}/aggregates.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_key = {(int(r["condition"]), r["metric"]): r for r in rows}

    logs = {}
    for run in runs:
        logs.setdefault(run.condition_index + 1, []).append(recompute(run.session_id))
    assert {log["ended_by"] for logs_ in logs.values() for log in logs_} == {"scenario"}
    for condition, label in ((1, "params.reward=standard"), (2, "params.reward=mac_spgg")):
        for metric in ["contribution_rate", "total_welfare", "free_riding_count", "rounds_played", "wall_seconds",
                       "tokens", "cost"]:
            values = [log[metric] for log in logs[condition]]
            row = by_key[(condition, metric)]
            assert row["condition_label"] == label
            assert int(row["n"]) == 10
            if statistics.pstdev(values) == 0:
                assert float(row["mean"]) == pytest.approx(values[0]) and float(row["sd"]) == 0
                continue
            n, mean, sd, low, high = t_interval(values)
            assert float(row["mean"]) == pytest.approx(mean, rel=1e-9), metric
            assert float(row["sd"]) == pytest.approx(sd, rel=1e-9), metric
            assert (float(row["ci95_low"]), float(row["ci95_high"])) == (
                pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9)), metric
    # Seeds matter (shuffled order of play), and the reward changes the outcome.
    assert statistics.pstdev([log["total_welfare"] for log in logs[1]]) > 0
    welfare = {c: statistics.fmean(log["total_welfare"] for log in logs[c]) for c in logs}
    assert welfare[2] > welfare[1]

    runs_csv = list(csv.DictReader(io.StringIO(client.get(f"/experiments/{experiment.pk}/runs.csv").content.decode())))
    assert len(runs_csv) == 20 and {r["complete"] for r in runs_csv} == {"True"}
    manifest = client.get(f"/experiments/{experiment.pk}/manifest.json").json()
    assert manifest["seeds"] == list(range(10)) and len(manifest["runs"]) == 20
    assert manifest["git_commit"] and manifest["collab_version"]
    assert [c["label"] for c in manifest["conditions"]] == ["params.reward=standard", "params.reward=mac_spgg"]
    assert manifest["conditions"][1]["settings"]["protocol_params"]["params"]["reward"] == "mac_spgg"
    assert {r["model"] for c in manifest["conditions"] for r in c["roles"]} == {"scripted"}
    assert manifest["started_at"] and manifest["finished_at"]
    assert all(r["complete"] and r["ended_by"] == "scenario" for r in manifest["runs"])
