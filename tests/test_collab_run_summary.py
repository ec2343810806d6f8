"""`collab_run`'s summary: how the run ended (completed by its rules or cut
short, paused with its cause), the scenario's scores, one line when no Redis
is there for live pages, and the same demo account as `make run`."""

import copy
import json
import logging

import pytest
from django.core.management import call_command
from django.test import Client

from collab.live import bus
from collab.llm.fake_server import FakeServerConfig, run_in_thread
from tests.engine_helpers import fake_profile, make_team

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_REDIS = "unix:///nonexistent/collab-test-redis.sock"


def run(capsys, *args) -> tuple[int, str, str]:
    code = 0
    try:
        call_command("collab_run", *args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_cut_short_scenario_prints_its_scores_as_provisional(capsys):
    code, out, _ = run(capsys, "--preset", "fishery_village", "--inline", "--max-turns", "12", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["status"] == "finished"
    assert summary["ended_by"] == "max_turns" and summary["completed_by_rules"] is False
    assert summary["reason"].startswith("cut short: max turns reached (12)")
    scenario = summary["scenario"]
    assert scenario["name"] == "fishery" and scenario["scores_provisional"] is True
    assert scenario["scores"]["survived"] is True and scenario["scores"]["months_played"] >= 1

    code, out, _ = run(capsys, "--preset", "fishery_village", "--inline", "--max-turns", "12")
    line = next(li for li in out.splitlines() if "fishery scores" in li)
    assert line.startswith("  fishery scores (provisional: the run did not complete by the scenario's rules): ")
    assert "survived yes" in line and "months played " in line  # in any order: PostgreSQL's jsonb sorts keys


def test_a_scenario_that_completes_says_so_with_final_scores(capsys):
    code, out, _ = run(capsys, "--preset", "maze_pair", "--inline", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["ended_by"] == "scenario" and summary["completed_by_rules"] is True
    assert summary["scenario"]["scores_provisional"] is False and "solved" in summary["scenario"]["scores"]
    code, out, _ = run(capsys, "--preset", "debate_panel", "--inline", "--json")
    summary = json.loads(out)
    assert summary["completed_by_rules"] is True and summary["scenario"] is None


@pytest.mark.parametrize("as_json", [True, False])
def test_a_paused_run_prints_its_cause_and_exits_non_zero(capsys, owner, as_json):
    with run_in_thread(FakeServerConfig(failures=["500"] * 20)) as server:
        make_team(owner, name="Failing", profile=fake_profile(server))
        code, out, _ = run(capsys, "--team", "Failing", "--provider", "openai", "--inline",
                           *(["--json"] if as_json else []))
    assert code == 1
    if as_json:
        summary = json.loads(out)
        assert summary["status"] == "paused" and "500" in summary["reason"]
        assert summary["completed_by_rules"] is False
    else:
        first = out.splitlines()[0]
        assert first.startswith("session ") and " paused: " in first and "500" in first
        assert "resume it on its page" in out


@pytest.fixture
def no_channel_redis(settings, monkeypatch):
    """The channel layer (live pages) points at a Redis that is not there."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [DEAD_REDIS]
    settings.CHANNEL_LAYERS = layers
    settings.CHANNEL_REDIS_URL = DEAD_REDIS
    monkeypatch.setattr(bus, "_muted", False)
    monkeypatch.setattr(bus, "_failing", False)


def test_an_inline_run_without_redis_says_once_that_pages_will_not_update(capsys, caplog, no_channel_redis):
    caplog.set_level(logging.WARNING)
    code, out, err = run(capsys, "--preset", "debate_panel", "--inline")
    assert code == 0 and " finished: " in out
    assert err.count("collab: no Redis") == 1 and "will not update live" in err
    assert [r.getMessage() for r in caplog.records if r.name.startswith("collab.live")] == []


async def test_broadcasts_that_keep_failing_log_one_line(caplog, no_channel_redis):
    caplog.set_level(logging.WARNING, logger="collab.live.bus")
    for seq in range(30):
        await bus.send(1, {"type": "log.event", "event": {"seq": seq}})
    assert len([r for r in caplog.records if r.name == "collab.live.bus"]) == 1
    assert "live pages will not update until Redis answers" in caplog.records[0].getMessage()


def can_log_in(username: str, password: str) -> bool:
    return Client().post("/accounts/login/", {"username": username, "password": password}).status_code == 302


def test_the_demo_account_is_the_same_whichever_command_runs_first(capsys):
    from django.contrib.auth.models import User

    run(capsys, "--preset", "debate_panel", "--inline")  # before any `make run`
    assert can_log_in("demo", "collab-demo")
    call_command("load_demo")
    assert can_log_in("demo", "collab-demo") and User.objects.filter(username="demo").count() == 1

    # A demo account an older collab_run left without a password is mended; one set on purpose is kept.
    User.objects.filter(username="demo").update(password="")
    call_command("load_demo")
    assert can_log_in("demo", "collab-demo")
    demo = User.objects.get(username="demo")
    demo.set_password("changed-by-the-lab-1")
    demo.save()
    run(capsys, "--preset", "debate_panel", "--inline")
    call_command("load_demo")
    assert can_log_in("demo", "changed-by-the-lab-1") and not can_log_in("demo", "collab-demo")

    run(capsys, "--preset", "debate_panel", "--inline", "--user", "bot")
    assert not User.objects.get(username="bot").has_usable_password()
