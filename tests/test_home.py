"""Home (issue 10 item 12): presets start a session in one click; Live now and
Recent tell sessions apart by team, what they play, status and date."""

import re

import pytest

from collab.sessions import services
from collab.sessions.models import Session
from collab.teams.models import Team
from collab.teams.presets import PRESETS
from tests.engine_helpers import make_team


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_every_preset_has_a_one_click_start(logged_in):
    html = logged_in.get("/").content.decode()
    for key, preset in PRESETS.items():
        assert f'action="/sessions/preset/{key}/"' in html, key
        assert f'aria-label="Start {preset.title}"' in html
        assert f'href="/sessions/new/?preset={key}"' in html


def test_a_preset_card_starts_its_session_and_reuses_its_team(logged_in, owner):
    response = logged_in.post("/sessions/preset/courtroom/")
    session = Session.objects.get()
    assert response["Location"] == f"/sessions/{session.pk}/"
    assert session.status == "running" and session.protocol == "debate_vote"
    assert session.brief == PRESETS["courtroom"].brief
    logged_in.post("/sessions/preset/courtroom/")
    assert Team.objects.filter(owner=owner, preset="courtroom").count() == 1
    assert Session.objects.count() == 2


def test_a_scenario_preset_starts_its_scenario(logged_in):
    logged_in.post("/sessions/preset/fishery_village/")
    session = Session.objects.get()
    assert session.scenario == "fishery" and session.status == "running"


def test_unknown_preset_and_get_are_refused(logged_in):
    assert logged_in.post("/sessions/preset/nope/").status_code == 404
    assert logged_in.get("/sessions/preset/courtroom/").status_code == 405
    assert not Session.objects.exists()


def test_sessions_are_told_apart_by_team_kind_status_and_date(logged_in, owner):
    trio = make_team(owner)
    from collab.teams.services import team_create_from_preset

    fishers = team_create_from_preset(preset_key="fishery_village", owner=owner)
    live = services.session_create(owner=owner, team=trio, protocol="debate_vote")
    services.session_start(session=live, user=owner)
    done = services.session_create(owner=owner, team=fishers, protocol="scenario",
                                   protocol_params={"scenario": "fishery", "params": {"months": 2}})
    services.session_stop(session=done, user=owner)
    html = logged_in.get("/").content.decode()
    live_now = html[html.index('id="live-now"'):html.index('id="recent"')]
    recent = html[html.index('id="recent"'):html.index('id="presets"')]
    assert live.title in live_now and "Trio" in live_now and "Debate and vote" in live_now
    assert "Running" in live_now and re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d", live_now)
    assert "Fishery commons" in recent and "Fishery village" in recent and "Finished" in recent
    assert "stopped by the owner" in recent and f"/sessions/{done.pk}/transcript/" in recent


def test_default_titles_do_not_repeat_the_protocol(owner):
    from collab.teams.services import team_create_from_preset

    team = team_create_from_preset(preset_key="debate_panel", owner=owner)
    session = services.session_create(owner=owner, team=team, protocol="debate_vote")
    assert session.title.startswith("Debate-and-vote panel · ")
    assert "Debate and vote" not in session.title
