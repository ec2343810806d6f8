"""Login throttling (django-axes): repeated wrong passwords lock one username
out from one address, the login page says so, and a success resets the count."""

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

LIMIT = 5  # the default COLLAB_LOGIN_FAILURE_LIMIT


def log_in(client, password, username="alice", address="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in_as(client) -> str | None:
    user = client.get("/").wsgi_request.user
    return user.username if user.is_authenticated else None


def test_the_login_page_states_the_policy(client):
    page = client.get("/accounts/login/").content.decode()
    assert f"After {LIMIT} wrong passwords" in page and "blocked for 15 minutes" in page


def test_repeated_wrong_passwords_lock_out_even_the_right_one(client, alice):
    for _ in range(LIMIT - 1):
        response = log_in(client, "wrong")
        assert response.status_code == 200 and "Too many failed logins" not in response.content.decode()
    locked = log_in(client, "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed logins for this account from your address" in page
    assert 'name="password"' in page and 'value="alice"' in page  # still the login page, the name kept
    # The probe: 12 wrong passwords, then the right one.
    for _ in range(12 - LIMIT):
        assert log_in(client, "wrong").status_code == 429
    right = log_in(client, "alice-pass-123")
    assert right.status_code == 429 and logged_in_as(client) is None


def test_the_lock_is_per_username_and_address(client, alice):
    User.objects.create_user("bob", password="bob-pass-1234")
    for _ in range(LIMIT):
        log_in(client, "wrong")
    assert log_in(client, "alice-pass-123").status_code == 429
    # Another account from the same address, and the same account from another address, are not locked.
    assert log_in(client, "bob-pass-1234", username="bob").status_code == 302
    assert logged_in_as(client) == "bob"
    client.post("/accounts/logout/")
    assert log_in(client, "alice-pass-123", address="10.0.0.2").status_code == 302
    assert logged_in_as(client) == "alice"


def test_a_success_resets_the_count(client, alice):
    for _ in range(LIMIT - 1):
        log_in(client, "wrong")
    assert log_in(client, "alice-pass-123").status_code == 302
    client.post("/accounts/logout/")
    for _ in range(LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200
    assert log_in(client, "alice-pass-123").status_code == 302


def test_the_limit_is_configurable(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert log_in(client, "wrong").status_code == 200
    assert log_in(client, "wrong").status_code == 429
    assert "After 2 wrong passwords" in client.get("/accounts/login/").content.decode()


def test_signing_up_still_logs_the_new_user_in(client):
    response = client.post("/accounts/signup/", {"username": "newbie", "password1": "a-long-pass-987",
                                                 "password2": "a-long-pass-987"})
    assert response.status_code == 302 and logged_in_as(client) == "newbie"
