"""A paused session is fixed by fixing its profile: resume re-reads it and
logs what changed; the session page tests its model servers."""

import socket

import pytest

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions.models import Session
from collab.teams.models import ModelProfile
from tests.engine_helpers import make_team, start, wait_for
from tests.test_model_profiles import PROFILE

pytestmark = pytest.mark.django_db(transaction=True)


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def test_fixing_the_profile_fixes_the_paused_session(client, owner, worker, settings):
    broken = closed_url()
    profile = ModelProfile.objects.create(owner=owner, name="local", provider="openai", base_url=broken,
                                          model="fake-model", api_key_env="", timeout_seconds=5)
    session = start(owner, make_team(owner, profile=profile), provider="openai", protocol_params={"rounds": 1})
    session = wait_for(session, statuses=("paused",))
    assert "connection refused" in session.events.filter(kind="turn_error").last().payload["cause"]

    client.force_login(owner)
    page = client.post(f"/sessions/{session.pk}/test_connection/", follow=True).content.decode()
    assert "connection refused" in page and "“local”" in page

    with run_in_thread(FakeServerConfig(reply="Back in business.")) as server:
        response = client.post(f"/teams/models/{profile.pk}/edit/", {
            **PROFILE, "name": "local", "base_url": server.base_url, "model": "fake-model"})
        assert response.status_code == 302
        page = client.post(f"/sessions/{session.pk}/test_connection/", follow=True).content.decode()
        assert "connected, a test reply came back" in page
        client.post(f"/sessions/{session.pk}/resume/")
        session = wait_for(session)
    assert session.status == "finished"
    notice = session.events.get(kind="notice", payload__has_key="profiles_changed")
    assert f"base URL {broken} → {server.base_url}" in notice.payload["text"]
    assert notice.seq < session.events.filter(kind="message").first().seq
    assert Session.objects.get(pk=session.pk).team_snapshot["roles"][0]["model_profile"]["base_url"] == \
        server.base_url


def test_a_resume_with_unchanged_profiles_logs_no_change(client, owner, worker):
    with run_in_thread(FakeServerConfig(reply="ok", failures=["500"] * 10)) as server:
        profile = ModelProfile.objects.create(owner=owner, name="p", provider="openai", base_url=server.base_url,
                                              model="fake-model", api_key_env="", timeout_seconds=5)
        session = wait_for(start(owner, make_team(owner, profile=profile), provider="openai",
                                 protocol_params={"rounds": 1}), statuses=("paused",))
        server.config.failures.clear()
        client.force_login(owner)
        client.post(f"/sessions/{session.pk}/resume/")
        session = wait_for(session)
    assert session.status == "finished"
    assert not session.events.filter(kind="notice", payload__has_key="profiles_changed").exists()


def test_only_the_owner_tests_connections_and_edits_profiles(client, owner, outsider):
    profile = ModelProfile.objects.create(owner=owner, name="p", provider="openai", base_url=closed_url())
    session = start(owner, make_team(owner, profile=profile), provider="openai")
    client.force_login(outsider)
    assert client.get(f"/teams/models/{profile.pk}/edit/").status_code == 404
    assert client.post(f"/teams/models/{profile.pk}/edit/", {**PROFILE, "name": "stolen"}).status_code == 404
    assert ModelProfile.objects.get(pk=profile.pk).name == "p"
    response = client.post(f"/sessions/{session.pk}/test_connection/", follow=True)
    assert response.status_code == 404 or "connection refused" not in response.content.decode()
