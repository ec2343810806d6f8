"""Experiment definitions: checked whole, clear errors, nothing written when wrong."""

import json

import pytest
from django.core.management import CommandError, call_command

from collab.experiments import services
from collab.experiments.models import Experiment, Run
from collab.experiments.spec import SpecError, expand
from collab.sessions.models import Session
from collab.teams.models import ModelProfile, Role, Team


def problems(owner, text):
    with pytest.raises(SpecError) as caught:
        services.experiment_create(owner=owner, text=text)
    assert not Experiment.objects.exists() and not Run.objects.exists() and not Session.objects.exists()
    return caught.value.problems


def test_grid_expands_to_the_cross_product_with_labels():
    conditions = expand({"preset": "maze_pair", "params": {"size": 6}},
                        {"params.mode": ["solo", "pair"], "protocol_params.strategies": ["random"], "max_turns": [50, 80]})
    assert len(conditions) == 4
    assert conditions[0]["params"] == {"size": 6, "mode": "solo"} and conditions[0]["max_turns"] == 50
    assert conditions[0]["label"] == "params.mode=solo, protocol_params.strategies=random, max_turns=50"
    assert expand({"preset": "maze_pair"}, {})[0]["label"] == "all runs"


@pytest.mark.django_db
def test_a_valid_definition_makes_one_pending_run_per_cell(owner):
    text = json.dumps({"title": "Maze", "base": {"preset": "maze_pair"}, "grid": {"params.mode": ["solo", "pair"]},
                       "seeds": [4, 9, 11], "repetitions": 2})
    experiment = services.experiment_create(owner=owner, text=text)
    assert experiment.status == "draft" and experiment.source == text
    cells = list(experiment.runs.values_list("condition_index", "seed", "repetition", "status"))
    assert len(cells) == 12 and {c[3] for c in cells} == {"pending"}
    assert sorted({(c[0], c[1]) for c in cells}) == [(i, s) for i in (0, 1) for s in (4, 9, 11)]


@pytest.mark.django_db
@pytest.mark.parametrize("text, expected", [
    ("", "the definition is empty"),
    ("title: x\x00", "NUL byte"),
    ("title: [unclosed", "not valid YAML or JSON at line 1"),
    ("- just\n- a list", "must be a mapping"),
    ("x" * 200_001, "at most 200,000 are allowed"),
    ("title: t\nbase: {preset: maze_pair}\nseeds: 0", "seeds: must be from 1 to 1000, got 0"),
    ("title: t\nbase: {preset: maze_pair}\nseeds: [1, 1]", "seeds: the list repeats a seed"),
    ("title: t\nbase: {preset: maze_pair}\nseeds: five", "seeds: must be a whole number of seeds"),
    ("title: t\nbase: {preset: maze_pair}\nrepetitions: 0", "repetitions: must be a whole number from 1 to 100"),
    ("title: t\nbase: {preset: maze_pair}\ncolour: red", "unknown key(s) colour"),
    ("base: {preset: maze_pair}", "title: required"),
    ("title: t\nbase: {preset: nope}", "unknown preset 'nope'; choose one of:"),
    ("title: t\nbase: {}", "name a preset or a team"),
    ("title: t\nbase: {team: Ghost}", "unknown team 'Ghost'"),
    ("title: t\nbase: {preset: maze_pair, model_profile: ghost}", "unknown model profile 'ghost'"),
    ("title: t\nbase: {preset: maze_pair}\ngrid: {params.size: [6, 99]}", "parameter 'size' must be between 3 and 12"),
    ("title: t\nbase: {preset: maze_pair}\ngrid: {params.colour: [1]}", "unknown parameter(s) colour"),
    ("title: t\nbase: {preset: maze_pair}\ngrid: {params.mode: solo}", "grid.params.mode: must be a non-empty list"),
    ("title: t\nbase: {preset: maze_pair}\ngrid: {seed: [1, 2]}", "grid.seed: cannot be varied"),
    ("title: t\nbase: {preset: maze_pair}\ngrid: {protocol: [nope]}", "unknown protocol 'nope'"),
    ("title: t\nbase: {preset: maze_pair, max_turns: 5000}", "max_turns must be from 1 to 1000"),
    ("title: t\nbase: {preset: maze_pair}\ngrid: {params.seedless: [1, 2], params.mode: [a]}",
     "unknown parameter(s) seedless"),
    ("title: t\nbase: {preset: maze_pair}\nseeds: 1000\nrepetitions: 10", "at most 5,000"),
])
def test_bad_definitions_are_refused_with_a_clear_reason(owner, text, expected):
    found = problems(owner, text)
    assert any(expected in p for p in found), found


@pytest.mark.django_db
def test_every_problem_is_listed_with_its_place(owner):
    found = problems(owner, "title: t\nbase: {preset: maze_pair}\ngrid: {params.mode: [solo, flying]}")
    assert found == ["condition 2 (params.mode=flying): maze: parameter 'mode' must be one of pair, solo, got 'flying'"]


@pytest.mark.django_db
def test_a_team_and_a_model_profile_make_a_condition(owner):
    team = Team.objects.create(owner=owner, name="Pair")
    for i, name in enumerate(["Navigator A", "Navigator B"]):
        Role.objects.create(team=team, order=i, name=name)
    ModelProfile.objects.create(name="tiny", provider="scripted", owner=owner)
    experiment = services.experiment_create(owner=owner, text=(
        "title: t\nbase: {team: Pair, protocol: scenario, protocol_params: {scenario: maze}}\n"
        "grid: {model_profile: ['', tiny]}\nseeds: 1"))
    services.experiment_start(experiment=experiment, user=owner, schedule=False)
    experiment.refresh_from_db()
    teams = [c["team"] for c in experiment.manifest["conditions"]]
    assert teams == ["Pair", f"Experiment {experiment.pk}: Pair · tiny"]
    assert {r["model_profile"] for r in experiment.manifest["conditions"][1]["roles"]} == {"tiny"}
    assert list(team.roles.values_list("model_profile", flat=True)) == [None, None]  # the original is untouched


@pytest.mark.django_db(transaction=True)
def test_command_runs_a_file_inline_and_prints_the_aggregate_columns(owner, tmp_path, capsys):
    path = tmp_path / "maze.yaml"
    path.write_text("title: Maze solo vs pair\nbase: {preset: maze_pair}\ngrid: {params.mode: [solo, pair]}\nseeds: 2\n")
    call_command("collab_experiment", "run", str(path), "--inline", "--user", "owner")
    out = capsys.readouterr().out
    assert "Finished: 4 complete, 0 cut short, 0 failed of 4" in out
    assert "condition  condition_label" in out and "ci95_low" in out
    assert "path_efficiency" in out
    experiment = Experiment.objects.get()
    assert experiment.status == "finished" and experiment.finished_at is not None


@pytest.mark.django_db
def test_command_reports_problems_and_check_writes_nothing(owner, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\nbase: {preset: nope}\nseeds: 0\n")
    with pytest.raises(CommandError, match=r"bad.yaml is not a valid experiment:\n- seeds: must be from 1 to 1000"):
        call_command("collab_experiment", "run", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("collab_experiment", "run", str(tmp_path / "missing.yaml"))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"title": "t", "base": {"preset": "maze_pair"}, "seeds": 3}))
    call_command("collab_experiment", "check", str(good))
    assert "valid; 1 condition, 3 runs" in capsys.readouterr().out
    assert not Experiment.objects.exists()
