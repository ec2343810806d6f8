import logging

import pytest


@pytest.mark.django_db(transaction=True)
def test_healthz_reports_database_redis_and_worker(client, worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["redis"]["channel_layer"]["ok"] is True
    assert body["redis"]["broker"]["ok"] is True
    assert body["workers"]["count"] >= 1


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.CHANNEL_REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"]["channel_layer"]["ok"] is False
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_a_503_from_healthz_is_the_probe_answer_not_a_server_error(client, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.CHANNEL_REDIS_URL = "redis://127.0.0.1:1/0"
    assert client.get("/healthz").status_code == 503
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (line,) = [r for r in caplog.records if r.name == "collab.core.views"]
    assert line.levelno == logging.WARNING and "redis channel layer: ConnectionError" in line.getMessage()
