"""Issue 10 items 9 and 3: an invite survives signing up or in; the session
brief is the task of every scenario that has one, shown in a Task card."""

import pytest
from django.contrib.auth.models import User

from collab.sessions import services
from collab.sessions.models import Event, Membership, Session
from collab.sessions.views import invite_token
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset
from tests.engine_helpers import make_team, wait_for


@pytest.fixture
def invited(owner):
    session = services.session_create(owner=owner, team=make_team(owner), title="Invited")
    return session, f"/sessions/{session.pk}/?invite={invite_token(session, 'participant')}"


def test_invite_survives_sign_up(client, invited):
    session, link = invited
    to_login = client.get(link)
    assert to_login.status_code == 302
    login_page = client.get(to_login["Location"])
    # The login page's "Create an account" link carries the invite on.
    signup_href = login_page.content.decode().split('New here? <a href="/accounts/signup/')[1].split('"')[0]
    assert "next=" in signup_href
    signup_page = client.get("/accounts/signup/" + signup_href.replace("&amp;", "&"))
    assert b'name="next"' in signup_page.content
    response = client.post("/accounts/signup/", {
        "username": "newbie", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase", "next": link})
    assert response.status_code == 302 and response["Location"] == link
    page = client.get(link)
    assert page.status_code == 200
    assert Membership.objects.get(session=session, user__username="newbie").capacity == "participant"


def test_invite_survives_log_in(client, invited, participant):
    session, link = invited
    response = client.post("/accounts/login/", {"username": "participant", "password": "participant-pass-123",
                                                "next": link})
    assert response["Location"] == link
    assert client.get(link).status_code == 200
    assert Membership.objects.filter(session=session, user=participant).exists()


@pytest.mark.django_db
def test_next_to_another_site_is_dropped(client):
    response = client.post("/accounts/signup/", {
        "username": "newbie", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase",
        "next": "https://evil.example/steal"})
    assert response["Location"] == "/"
    assert User.objects.filter(username="newbie").exists()


def test_signed_in_user_following_signup_goes_on(client, owner):
    client.force_login(owner)
    assert client.get("/accounts/signup/?next=/teams/")["Location"] == "/teams/"


@pytest.mark.django_db(transaction=True)
def test_design_review_works_on_the_sessions_brief(client, owner, worker):
    preset = PRESETS["senior_design_panel"]
    team = team_create_from_preset(preset_key=preset.key, owner=owner)
    brief = "Design a covered **bike shelter** for 40 bikes at the campus library."
    session = services.session_create(owner=owner, team=team, brief=brief, protocol=preset.protocol,
                                      protocol_params=preset.protocol_params, provider="scripted", max_turns=60)
    assert session.scenario_params["brief"] == brief
    services.session_start(session=session, user=owner)
    wait_for(session)
    action = Event.objects.get(session=session, kind="action", actor="Project Manager").payload["action"]
    assert "bike shelter" in action["proposal"]
    assert "water" not in action["proposal"].lower()
    client.force_login(owner)
    for url in (f"/sessions/{session.pk}/", f"/sessions/{session.pk}/transcript/"):
        html = client.get(url).content.decode()
        assert "task-card" in html and "<strong>bike shelter</strong>" in html


def test_scenario_without_a_written_brief_shows_its_own(client, owner):
    preset = PRESETS["senior_design_panel"]
    team = team_create_from_preset(preset_key=preset.key, owner=owner)
    session = services.session_create(owner=owner, team=team, protocol=preset.protocol,
                                      protocol_params=preset.protocol_params, provider="scripted")
    assert "water purification" in session.brief
    assert session.brief == session.scenario_params["brief"]
    client.force_login(owner)
    assert "water purification" in client.get(f"/sessions/{session.pk}/").content.decode()


def test_every_session_has_a_task_card(client, owner):
    session = services.session_create(owner=owner, team=make_team(owner))
    assert Session.objects.get(pk=session.pk).brief == ""
    client.force_login(owner)
    html = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "task-card" in html and "No brief" in html
