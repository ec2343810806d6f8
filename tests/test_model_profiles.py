"""Model profiles over HTTP: they belong to their owner, staff publish shared
ones; the form takes Docker service names, refuses a URL without a scheme,
and shows every limit a real server needs."""

import pytest
from django.contrib.auth.models import User

from collab.teams.models import ModelProfile, Role, Team
from tests.test_team_builder import team_post

pytestmark = pytest.mark.django_db

PROFILE = {"name": "my llama", "provider": "openai", "base_url": "http://ollama:11434/v1", "model": "llama3",
           "api_key_env": "", "temperature": "0.3", "max_tokens": "256", "timeout_seconds": "30",
           "context_window": "4096", "max_concurrency": "1", "structured": "json_object",
           "cost_per_1k_prompt": "0.001", "cost_per_1k_completion": "0.002"}


@pytest.fixture
def staff(db):
    return User.objects.create_user("staffer", password="staff-pass-123", is_staff=True)


def create(client, user, **changes):
    client.force_login(user)
    response = client.post("/teams/models/", {**PROFILE, **changes})
    if response.status_code == 302:
        client.get(response["Location"])  # shows (and so clears) the flash that names the profile
    return response


def test_the_form_takes_a_docker_service_name_and_every_limit(client, owner):
    page = (client.force_login(owner), client.get("/teams/models/"))[1].content.decode()
    for label in ("Max tokens", "Temperature", "Context window (tokens)", "Concurrent requests",
                  "Structured output", "Price per 1k prompt tokens", "Price per 1k completion tokens"):
        assert label in page, label
    assert "Published" not in page  # only staff publish
    response = create(client, owner)
    assert response.status_code == 302
    profile = ModelProfile.objects.get(name="my llama")
    assert (profile.owner, profile.base_url, profile.context_window, profile.max_concurrency, profile.structured) == \
        (owner, "http://ollama:11434/v1", 4096, 1, "json_object")
    page = client.get("/teams/models/").content.decode()
    assert "http://ollama:11434/v1" in page and ">4096<" in page and "json_object" in page


@pytest.mark.parametrize(("url", "message"), [
    ("ollama:11434/v1", "has no scheme: write http://ollama:11434/v1"),
    ("ftp://ollama/v1", "the scheme must be http or https"),
    ("http://bad host/v1", "names no valid host"),
    ("http://ollama:99999/v1", "not a valid URL"),
    ("http://x\x00y/v1", "Null characters are not allowed"),
])
def test_a_bad_base_url_is_an_inline_error_and_saves_nothing(client, owner, url, message):
    response = create(client, owner, base_url=url)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ModelProfile.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("context_window", "-1"), ("max_concurrency", "abc"),
                                              ("structured", "yaml"), ("cost_per_1k_prompt", "1e9")])
def test_out_of_range_limits_are_refused(client, owner, field, value):
    assert create(client, owner, **{field: value}).status_code == 200
    assert not ModelProfile.objects.exists()


def test_profiles_belong_to_their_owner(client, owner, outsider):
    create(client, owner)
    mine = ModelProfile.objects.get()
    client.force_login(outsider)
    page = client.get("/teams/models/").content.decode()
    assert "my llama" not in page and "<code>http://ollama:11434/v1</code>" not in page
    assert "No model profiles yet" in page
    # Nor can the outsider attach it to a role by its id.
    response = client.post("/teams/new/", team_post(roles=[{"name": "a", "model_profile": mine.pk}]))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Team.objects.filter(owner=outsider).exists()
    # The same name is free for another user.
    assert create(client, outsider).status_code == 302
    assert ModelProfile.objects.filter(name="my llama").count() == 2
    # The owner attaches their own.
    client.force_login(owner)
    assert client.post("/teams/new/", team_post(roles=[{"name": "a", "model_profile": mine.pk}])).status_code == 302
    assert Role.objects.get(team__owner=owner).model_profile == mine


def test_a_duplicate_name_of_ones_own_is_an_inline_error(client, owner):
    create(client, owner)
    response = create(client, owner)
    assert response.status_code == 200 and "You already have a model profile called" in response.content.decode()


def test_staff_publish_a_shared_profile_that_everyone_can_attach(client, owner, staff):
    assert create(client, staff, name="lab server", published="on").status_code == 302
    shared = ModelProfile.objects.get(name="lab server")
    assert shared.published and shared.owner == staff
    client.force_login(owner)
    page = client.get("/teams/models/").content.decode()
    assert "lab server" in page and "published" in page
    assert client.post("/teams/new/", team_post(roles=[{"name": "a", "model_profile": shared.pk}])).status_code == 302
    # A non-staff user cannot publish: the field is not theirs to set.
    assert create(client, owner, name="sneaky", published="on").status_code == 302
    assert not ModelProfile.objects.get(name="sneaky").published
    client.force_login(staff)
    assert "sneaky" in client.get("/teams/models/").content.decode()  # staff see every profile


def test_an_unpublished_profile_a_role_already_has_can_be_kept(client, owner, staff):
    create(client, staff, name="lab server", published="on")
    shared = ModelProfile.objects.get(name="lab server")
    client.force_login(owner)
    client.post("/teams/new/", team_post(name="T", roles=[{"name": "a", "model_profile": shared.pk}]))
    team = Team.objects.get(owner=owner)
    ModelProfile.objects.filter(pk=shared.pk).update(published=False)
    role = team.roles.get()
    response = client.post(f"/teams/{team.pk}/edit/", team_post(
        name="T renamed", roles=[{"id": role.pk, "name": "a", "model_profile": shared.pk}], initial=1))
    assert response.status_code == 302
    assert Team.objects.get(pk=team.pk).name == "T renamed"
