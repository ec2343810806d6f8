"""/healthz: 200 "ok" or 503 with each component's state for anyone; worker
names, errors and timings for staff only."""

import logging

import pytest
from django.contrib.auth.models import User

PUBLIC_KEYS = {"status", "database", "redis", "workers"}


@pytest.fixture
def staff(db):
    return User.objects.create_user("operator", password="operator-pass-123", is_staff=True)


@pytest.mark.django_db(transaction=True)
def test_healthz_public_answer_is_component_states_only(client, worker, owner):
    for viewer in (None, owner):  # anonymous, and a signed-up user who is not staff
        if viewer:
            client.force_login(viewer)
        response = client.get("/healthz")
        assert response.status_code == 200, response.content
        assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "workers": "ok"}
        assert worker.popen.args[worker.popen.args.index("--hostname") + 1].split("@")[0] not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_healthz_details_for_staff(client, worker, staff):
    client.force_login(staff)
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["database"]["vendor"]
    assert body["redis"]["channel_layer"]["ok"] is True
    assert body["redis"]["broker"]["ok"] is True
    assert body["workers"]["count"] >= 1 and body["workers"]["names"]


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings, staff):
    settings.CHANNEL_REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "ok", "redis": "down", "workers": "down"}
    client.force_login(staff)
    body = client.get("/healthz").json()
    assert body["redis"]["channel_layer"]["ok"] is False and "error" in body["redis"]["channel_layer"]


@pytest.mark.django_db
def test_a_503_from_healthz_is_the_probe_answer_not_a_server_error(client, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.CHANNEL_REDIS_URL = "redis://127.0.0.1:1/0"
    assert client.get("/healthz").status_code == 503
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (line,) = [r for r in caplog.records if r.name == "collab.core.views"]
    assert line.levelno == logging.WARNING and "redis channel layer: ConnectionError" in line.getMessage()
