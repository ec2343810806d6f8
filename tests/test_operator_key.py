"""The operator's model key goes only to the operator's configured server.

End to end, as an attacker would try it: a signed-up user saves a model
profile over HTTP, uses it in a team, starts a session, and a real Celery
worker (holding the operator's OPENAI_API_KEY in its environment) calls the
fake servers, which record the Authorization header of every request.
"""

import pytest
from django.contrib.auth.models import User

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions.models import Session
from tests import procs
from tests.engine_helpers import wait_for
from tests.test_team_builder import team_post

OPERATOR_KEY = "sk-operator-secret-0123456789"
PROFILE_KEY = "sk-staff-profile-key-4242"


@pytest.fixture
def servers():
    with run_in_thread(FakeServerConfig(reply="operator's server")) as operator, \
            run_in_thread(FakeServerConfig(reply="someone else's server")) as other:
        yield operator, other


@pytest.fixture
def keyed_worker(workers, django_db_blocker, servers, settings):
    """A worker configured like the operator's: a key and a server of its own.
    The suite's worker has no key, so it is stopped: this one takes every turn."""
    operator, _ = servers
    settings.OPENAI_API_KEY = OPERATOR_KEY
    settings.OPENAI_BASE_URL = operator.base_url
    settings.LLM_CONFIGURED = True
    with django_db_blocker.unblock():
        workers.stop()
        proc = procs.start_worker("keyed", OPENAI_API_KEY=OPERATOR_KEY, OPENAI_BASE_URL=operator.base_url,
                                  COLLAB_STAFF_PROFILE_KEY=PROFILE_KEY)
    yield proc
    proc.stop()


def profile_post(**kw) -> dict:
    return {"name": "mine", "provider": "openai", "base_url": "", "model": "llama3", "api_key_env": "",
            "temperature": "0.7", "max_tokens": "64", "timeout_seconds": "10", **kw}


def run_session(client, user, profile_names: dict[str, str]) -> Session:
    """Team (one role per profile) and session, through the pages a user clicks."""
    from collab.teams.models import ModelProfile

    roles = [{"name": role, "model_profile": ModelProfile.objects.get(name=name).pk}
             for role, name in profile_names.items()]
    assert client.post("/teams/new/", team_post("Keys", roles=roles)).status_code == 302
    team = user.teams.get()
    response = client.post("/sessions/new/", {
        "team": team.pk, "protocol": "round_robin", "topology": "everyone", "provider": "openai",
        "max_turns": 2 * len(roles), "seed": 0, "brief": "Say hello.", "start": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    session = Session.objects.get(team=team)
    assert wait_for(session, timeout=60).status == "finished"
    return session


@pytest.mark.django_db(transaction=True)
def test_a_users_own_server_never_receives_the_operators_key(client, servers, keyed_worker):
    operator, other = servers
    user = User.objects.create_user("mallory", password="mallory-pass-123")
    client.force_login(user)
    # The empty key variable is accepted: a keyless server of one's own is legitimate.
    assert client.post("/teams/models/", profile_post(name="mine", base_url=other.base_url)).status_code == 302
    # The operator's server, with the profile naming no server: the control, showing the worker holds a key.
    assert client.post("/teams/models/", profile_post(name="configured")).status_code == 302
    run_session(client, user, {"asker": "mine", "answerer": "configured"})

    assert other.authorizations and operator.authorizations
    assert set(other.authorizations) == {"Bearer not-needed"}
    assert set(operator.authorizations) == {f"Bearer {OPERATOR_KEY}"}


@pytest.mark.django_db(transaction=True)
def test_a_user_cannot_name_a_key_variable_for_their_own_server(client, servers, keyed_worker):
    _, other = servers
    client.force_login(User.objects.create_user("mallory", password="mallory-pass-123"))
    for name in ("OPENAI_API_KEY", "COLLAB_STAFF_PROFILE_KEY"):
        response = client.post("/teams/models/", profile_post(base_url=other.base_url, api_key_env=name))
        assert response.status_code == 200 and "api_key_env" in response.context["form"].errors
    assert not other.authorizations


@pytest.mark.django_db(transaction=True)
def test_a_staff_profile_sends_exactly_the_variable_it_names(client, servers, keyed_worker):
    operator, other = servers
    staff = User.objects.create_user("operator", password="operator-pass-123", is_staff=True)
    client.force_login(staff)
    assert client.post("/teams/models/", profile_post(name="lab server", base_url=other.base_url,
                                                      api_key_env="COLLAB_STAFF_PROFILE_KEY")).status_code == 302
    # Staff naming no variable for another server: still no key, not the operator's by fallback.
    assert client.post("/teams/models/", profile_post(name="keyless", base_url=other.base_url)).status_code == 302
    run_session(client, staff, {"lab": "lab server", "guest": "keyless"})

    assert sorted(set(other.authorizations)) == ["Bearer not-needed", f"Bearer {PROFILE_KEY}"]
    assert not operator.authorizations
