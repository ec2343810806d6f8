"""Headless runs: `manage.py collab_run`."""

import json

import pytest
from django.core.management import CommandError, call_command

from collab.sessions.models import Session
from collab.teams.presets import PRESETS


@pytest.mark.django_db(transaction=True)
def test_runs_a_preset_through_the_worker_and_prints_a_json_summary(worker, capsys):
    call_command("collab_run", "--preset", "debate_panel", "--json", "--seed", "3")
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "finished"
    assert summary["end_reason"].startswith("vote complete")
    assert set(summary["messages_per_role"]) == {"optimist", "skeptic", "pragmatist"}
    assert summary["events"] == Session.objects.get(pk=summary["id"]).last_seq
    assert summary["tokens"] > 0 and summary["llm_calls"] >= 9


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_runs_inline(preset, capsys):
    call_command("collab_run", "--preset", preset, "--inline")
    out = capsys.readouterr().out
    assert " finished: " in out
    assert "scripted agents" in out


@pytest.mark.django_db
def test_unknown_names_get_one_line_listing_what_exists():
    with pytest.raises(CommandError, match="choose one of: .*debate_panel"):
        call_command("collab_run", "--preset", "nope", "--inline")
    with pytest.raises(CommandError, match="unknown protocol 'nope'; choose one of: debate_vote"):
        call_command("collab_run", "--preset", "debate_panel", "--protocol", "nope", "--inline")
    with pytest.raises(CommandError, match="unknown team 'ghost'"):
        call_command("collab_run", "--team", "ghost", "--inline")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("collab_run", "--preset", "debate_panel", "--protocol-params", "{x", "--inline")


@pytest.mark.django_db(transaction=True)
def test_compare_maze_solo_and_pair(capsys):
    call_command("collab_compare", "--preset", "maze_pair", "--vary", "mode=solo,pair", "--seeds", "2", "--json")
    table = json.loads(capsys.readouterr().out)
    assert set(table) == {"solo", "pair"}
    assert table["solo"]["solved"] == 1 and table["solo"]["path_efficiency"] == 1
    assert table["pair"]["turns"] >= table["solo"]["turns"]
    assert Session.objects.filter(scenario="maze", status="finished").count() == 4


@pytest.mark.django_db
def test_compare_refuses_a_preset_without_a_scenario():
    with pytest.raises(CommandError, match="not a scenario preset; choose one of: .*maze_pair"):
        call_command("collab_compare", "--preset", "debate_panel", "--vary", "rounds=1,2")
