import pytest
from django.core.management import call_command

from collab.teams.models import Team
from collab.teams.presets import PRESETS


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.django_db
def test_demo_account_logs_in_and_sees_its_teams(client):
    call_command("load_demo")
    call_command("load_demo")  # idempotent
    assert Team.objects.filter(owner__username="demo").count() == len(PRESETS)
    response = client.post("/accounts/login/", {"username": "demo", "password": "collab-demo"})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert b"Senior design panel" in home.content


@pytest.mark.django_db
def test_signup_logs_the_new_user_in(client):
    response = client.post("/accounts/signup/", {
        "username": "newbie", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"})
    assert response.status_code == 302
    assert client.get("/").context["user"].username == "newbie"


@pytest.mark.django_db
def test_signup_shows_errors_and_keeps_input(client):
    response = client.post("/accounts/signup/", {"username": "newbie", "password1": "a", "password2": "b"})
    assert response.status_code == 200
    assert b"newbie" in response.content
    assert b"errorlist" in response.content


def test_pages_need_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
