"""Server-rendered session pages and their plain-HTTP control doors."""

import pytest

from collab.sessions import services
from collab.sessions.models import Membership
from tests.engine_helpers import make_team


@pytest.fixture
def session(owner):
    session = services.session_create(owner=owner, team=make_team(owner), brief="Build a <b>thing</b>")
    services.session_inject(session=session, user=owner, text="<script>alert(1)</script> **bold**")
    return session


def test_owner_sees_controls_plan_editor_and_scripted_notice(client, owner, session):
    client.force_login(owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'data-action="start"' in page and "Edit the plan" in page
    assert "offline scripted agents" in page
    assert "<script>alert(1)</script>" not in page and "<strong>bold</strong>" in page
    assert 'ws-connect="/ws/sessions/' in page


def test_observer_sees_no_controls(client, owner, outsider, session):
    services.membership_add(session=session, by=owner, user=outsider, capacity=Membership.Capacity.OBSERVER)
    client.force_login(outsider)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "data-action=" not in page and "Edit the plan" not in page
    response = client.post(f"/sessions/{session.pk}/start/", follow=True)
    assert "Only the session&#x27;s owner" in response.content.decode()
    session.refresh_from_db()
    assert session.status == "draft"


def test_outsider_gets_404_and_invite_link_makes_a_participant(client, owner, outsider, session):
    from collab.sessions.views import invite_token

    client.force_login(outsider)
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    assert client.get(f"/sessions/{session.pk}/transcript/").status_code == 404
    token = invite_token(session, "participant")
    assert client.get(f"/sessions/{session.pk}/?invite={token}").status_code == 200
    assert Membership.objects.get(session=session, user=outsider).capacity == "participant"


def test_plan_editor_posts_a_plan_event(client, owner, session):
    client.force_login(owner)
    client.post(f"/sessions/{session.pk}/edit_plan/", {
        "text": ["Write spec", "Code it", ""], "owner": ["analyst", "coder", ""], "status": ["done", "todo", "todo"],
        "base_version": "0"})
    session.refresh_from_db()
    assert [s["text"] for s in session.state["plan"]["steps"]] == ["Write spec", "Code it"]
    assert session.events.filter(kind="plan", actor="user:owner").exists()


def test_transcript_reads_without_javascript_and_paginates(client, owner, session):
    for i in range(120):
        services.session_inject(session=session, user=owner, text=f"note {i}")
    client.force_login(owner)
    first = client.get(f"/sessions/{session.pk}/transcript/").content.decode()
    assert 'id="ev-1"' in first and 'id="ev-101"' not in first and "Page 1 of 2" in first
    second = client.get(f"/sessions/{session.pk}/transcript/?page=2").content.decode()
    assert 'id="ev-121"' in second


def test_demo_button_starts_a_scripted_session(client, owner):
    client.force_login(owner)
    response = client.post("/sessions/demo/")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Demo: Senior design panel" in page


def test_launcher_starts_a_scenario_session_and_shows_errors_inline(client, owner):
    from collab.sessions.models import Session
    from collab.teams.services import team_create_from_preset

    team = team_create_from_preset(preset_key="fishery_village", owner=owner)
    client.force_login(owner)
    page = client.get(f"/sessions/new/?team={team.pk}").content.decode()
    assert 'name="scenario" value="fishery" checked' in page
    bad = client.post("/sessions/new/", {"team": team.pk, "scenario": "fishery", "advanced": "on",
                                         "scenario_params": '{"months": ',
                                         "protocol": "round_robin", "topology": "everyone", "provider": "scripted",
                                         "max_turns": 50, "seed": 0, "brief": "keep me"})
    assert bad.status_code == 200 and "Not valid JSON" in bad.content.decode() and "keep me" in bad.content.decode()
    response = client.post("/sessions/new/", {"team": team.pk, "scenario": "fishery", "scenario_params": '{"months": 2}',
                                              "advanced": "on", "scenario-fishery-strategy": "sustainable",
                                              "protocol": "round_robin",
                                              "topology": "everyone", "provider": "scripted", "max_turns": 50,
                                              "seed": 0})
    session = Session.objects.get()
    assert response["Location"] == f"/sessions/{session.pk}/"
    assert session.protocol == "scenario" and session.scenario == "fishery"
    assert session.protocol_params["params"]["months"] == 2


@pytest.mark.django_db(transaction=True)
def test_scenario_panel_and_chart_show_live_and_in_the_transcript(client, owner):
    from collab.engine.runner import inline, run_inline
    from collab.teams.presets import PRESETS
    from collab.teams.services import team_create_from_preset

    preset = PRESETS["fishery_village"]
    team = team_create_from_preset(preset_key="fishery_village", owner=owner)
    session = services.session_create(owner=owner, team=team, protocol="scenario",
                                      protocol_params=preset.protocol_params, max_turns=400)
    with inline():
        services.session_start(session=session, user=owner)
        run_inline(session.pk)
    client.force_login(owner)
    for url in (f"/sessions/{session.pk}/", f"/sessions/{session.pk}/transcript/"):
        page = client.get(url).content.decode()
        assert 'id="scenario-panel"' in page and 'id="scenario-chart"' in page
        assert 'data-points="4"' in page  # the lake collapses in month 4
        assert "<polyline" in page
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "action-card action-fields" in page and "<dt>catch</dt>" in page and "{&#x27;catch&#x27;" not in page
    assert page.count('<li class="round-row" data-round="') == 4  # one row a month, beside the chart
