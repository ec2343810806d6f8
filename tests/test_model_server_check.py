"""The model server check: one line per problem (collab_check, start-up,
/healthz), the default model from the server, the served model recorded."""

import os
import socket
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import User

from collab.llm import server as model_server
from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions.models import LLMCall
from tests.engine_helpers import fake_profile, make_team, start, wait_for
from tests.procs import ROOT


def target(url, model="fake-model", key=""):
    return model_server.Target(url, model, key)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_working_server_has_no_problem():
    with run_in_thread(FakeServerConfig(reply="OK")) as srv:
        assert model_server.check(target(srv.base_url)) == []
        assert srv.requests[-1]["max_tokens"] == 1  # one tiny completion


@pytest.mark.parametrize(("url_of", "config", "model", "key", "expected"), [
    (lambda s: s.base_url.removeprefix("http://"), {}, "fake-model", "", "has no scheme: write http://"),
    (lambda s: f"http://127.0.0.1:{closed_port()}/v1", {}, "fake-model", "", "connection refused"),
    (lambda s: f"http://no-such-host.invalid:{s.port}/v1", {}, "fake-model", "", "not found"),
    (lambda s: s.base_url.removesuffix("/v1"), {"v1_only": True}, "fake-model", "",
     "HTTP 404 (not found); the base URL probably needs /v1"),
    (lambda s: s.base_url, {"api_key": "right"}, "fake-model", "wrong", "refused the key (HTTP 401)"),
    (lambda s: s.base_url, {"models": ["llama3:latest", "qwen2"]}, "mistral", "",
     "unknown model 'mistral'"),
])
def test_each_problem_in_one_line(url_of, config, model, key, expected):
    with run_in_thread(FakeServerConfig(**config)) as srv:
        problems = model_server.check(target(url_of(srv), model, key))
    assert len(problems) == 1 and "\n" not in problems[0]
    assert expected in problems[0], problems


def test_an_ollama_style_latest_tag_is_the_same_model():
    with run_in_thread(FakeServerConfig(models=["llama3:latest"])) as srv:
        assert model_server.check(target(srv.base_url, "llama3")) == []


def test_default_model_is_the_servers_only_one_or_a_clear_refusal(settings):
    settings.OPENAI_MODEL = ""
    with run_in_thread(FakeServerConfig(models=["qwen2.5-0.5b-instruct"])) as srv:
        settings.OPENAI_BASE_URL = srv.base_url
        assert model_server.default_model() == "qwen2.5-0.5b-instruct"
    with run_in_thread(FakeServerConfig(models=["a", "b"])) as srv:
        settings.OPENAI_BASE_URL = srv.base_url
        with pytest.raises(model_server.ModelConfigError, match="OPENAI_MODEL is unset .* lists 2 models"):
            model_server.default_model()
    settings.OPENAI_BASE_URL = ""
    assert model_server.default_model() == "gpt-4o-mini"
    settings.OPENAI_MODEL = "chosen"
    assert model_server.default_model() == "chosen"


def run_manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "OPENAI_MODEL"}}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=60)


def test_a_schemeless_base_url_is_a_configuration_error():
    result = run_manage("check", OPENAI_BASE_URL="localhost:8080/v1")
    assert result.returncode == 2
    assert result.stderr.strip() == ("collab: configuration error: OPENAI_BASE_URL: 'localhost:8080/v1' has no "
                                     "scheme: write http://localhost:8080/v1 or https://localhost:8080/v1")


def test_collab_check_names_the_model_and_the_problems(tmp_path):
    db = f"sqlite:///{tmp_path}/check.sqlite3"
    with run_in_thread(FakeServerConfig(models=["a", "b"])) as srv:
        result = run_manage("collab_check", DATABASE_URL=db, OPENAI_BASE_URL=srv.base_url)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "OPENAI_MODEL is unset" in result.stderr and "lists 2 models (a, b)" in result.stderr
        result = run_manage("collab_check", DATABASE_URL=db, OPENAI_BASE_URL=srv.base_url, OPENAI_MODEL="c")
        assert result.returncode == 0
        assert result.stderr.strip() == f"collab: warning: model server: unknown model 'c' at {srv.base_url}; " \
                                        f"it lists: a, b"
    with run_in_thread(FakeServerConfig(models=["only-one"])) as srv:
        result = run_manage("collab_check", DATABASE_URL=db, OPENAI_BASE_URL=srv.base_url)
    assert result.returncode == 0 and result.stderr == ""
    assert f"the OpenAI-compatible server at {srv.base_url} (model only-one)" in result.stdout


@pytest.mark.django_db
def test_healthz_reports_the_model_server_without_waiting_on_it(client, settings, monkeypatch):
    assert client.get("/healthz").json().get("model_server") in {None, "ok", "down", "unknown"}  # public: a state only
    client.force_login(User.objects.create_user("operator", password="operator-pass-123", is_staff=True))
    monkeypatch.setattr(model_server, "_health", {"ok": None, "state": "not checked yet", "checked_at": None})
    settings.LLM_CONFIGURED, settings.OPENAI_MODEL = True, "fake-model"
    with run_in_thread(FakeServerConfig(latency=2.0)) as srv:  # a slow server: /healthz must not wait
        settings.OPENAI_BASE_URL = srv.base_url
        started = time.monotonic()
        body = client.get("/healthz").json()
        assert time.monotonic() - started < 1.5
        assert body["model_server"]["state"] == "not checked yet"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and client.get("/healthz").json()["model_server"]["ok"] is None:
            time.sleep(0.2)
        state = client.get("/healthz").json()["model_server"]
        assert state["ok"] is True and state["state"] == "ok" and state["checked_seconds_ago"] < 30
    monkeypatch.setattr(model_server, "_health", {"ok": None, "state": "not checked yet", "checked_at": None})
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{closed_port()}/v1"
    client.get("/healthz")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and client.get("/healthz").json()["model_server"]["ok"] is None:
        time.sleep(0.2)
    state = client.get("/healthz").json()["model_server"]
    assert state["ok"] is False and "connection refused" in state["state"]


@pytest.mark.django_db(transaction=True)
def test_the_model_the_server_used_is_recorded_beside_the_one_asked_for(owner, worker):
    with run_in_thread(FakeServerConfig(reply="Fine.", served_model="fake-model:latest")) as srv:
        session = wait_for(start(owner, make_team(owner, profile=fake_profile(srv)), provider="openai",
                                 protocol_params={"rounds": 1}))
    calls = list(LLMCall.objects.filter(session=session))
    assert {(c.model, c.requested_model) for c in calls} == {("fake-model:latest", "fake-model")}
    assert {m.payload["model"] for m in session.events.filter(kind="message")} == {"fake-model:latest"}


@pytest.mark.django_db(transaction=True)
def test_an_unresolvable_default_model_pauses_the_session_naming_the_variable(owner, settings, monkeypatch):
    from collab.engine import runner

    settings.OPENAI_MODEL = ""
    monkeypatch.setattr(model_server, "_default_model", {})
    with run_in_thread(FakeServerConfig(models=["a", "b"])) as srv:
        settings.OPENAI_BASE_URL = srv.base_url
        team = make_team(owner)  # no profile: the roles use the configured server
        with runner.inline():
            session = start(owner, team, provider="openai")
            session = runner.run_inline(session.pk)
    assert session.status == "paused"
    cause = session.events.filter(kind="turn_error").last().payload["cause"]
    assert "OPENAI_MODEL is unset" in cause and "lists 2 models (a, b)" in cause
    assert not LLMCall.objects.filter(session=session).exists()
