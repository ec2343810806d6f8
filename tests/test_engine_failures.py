"""Model failures and bad output: paused with a visible cause, re-asked once,
then a safe default; nothing already logged is changed."""

import signal
import time

import pytest

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions.models import Event, Session
from tests.engine_helpers import (
    assert_gapless,
    fake_profile,
    make_team,
    message_turns,
    start,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_spent_retries_pause_the_session_with_the_cause(owner, worker):
    with run_in_thread(FakeServerConfig(failures=["500"] * 10)) as server:
        session = start(owner, make_team(owner, profile=fake_profile(server)), provider="openai")
        session = wait_for(session, statuses=("paused",))
        error = session.events.filter(kind="turn_error").last()
        assert "500" in error.payload["cause"]
        assert "Resume" in error.payload["text"]
        assert session.llm_calls.filter(error__contains="500").exists()
        server.config.failures.clear()
        from collab.sessions import services

        services.session_resume(session=session, user=owner)
        session = wait_for(session)
    assert session.status == "finished"
    assert_gapless(session)


def test_broken_moderator_output_is_reasked_then_falls_back_to_round_robin(owner, worker):
    config = FakeServerConfig(replies=["{not json", "still not json", "Analyst speaks."], reply="A message.")
    with run_in_thread(config) as server:
        team = make_team(owner, profile=fake_profile(server))
        session = wait_for(start(owner, team, protocol="moderator", provider="openai",
                                 protocol_params={"moderator": "analyst", "speeches": 1}))
    notices = [e.payload for e in Event.objects.filter(session=session, kind="turn_error")]
    assert any(n.get("reask") for n in notices)
    assert any("default" in n for n in notices)
    fallback = Event.objects.get(session=session, kind="notice", payload__fallback="round_robin")
    assert fallback.payload["next"] == "analyst"
    assert session.status == "finished"


def test_unknown_role_name_from_the_moderator_is_refused(owner, worker):
    config = FakeServerConfig(replies=['{"next": "ghost"}', '{"next": "tester", "reason": "fine"}'], reply="ok")
    with run_in_thread(config) as server:
        session = wait_for(start(owner, make_team(owner, profile=fake_profile(server)), protocol="moderator",
                                 provider="openai", protocol_params={"moderator": "analyst", "speeches": 1}))
    reask = Event.objects.get(session=session, kind="turn_error", payload__reask=True)
    assert "ghost" in reask.payload["problem"]
    assert [a for _, a in message_turns(session)] == ["tester"]


def test_empty_and_huge_replies(owner, worker):
    config = FakeServerConfig(replies=["", "", "x" * 1_000_000], reply="fine")
    with run_in_thread(config) as server:
        session = wait_for(start(owner, make_team(owner, profile=fake_profile(server)), provider="openai",
                                 protocol_params={"rounds": 1}), timeout=90)
    messages = list(session.events.filter(kind="message").order_by("seq"))
    assert messages[0].payload["text"] == "(no reply)"
    assert len(messages[1].payload["text"]) == 20_000
    assert session.events.filter(kind="turn_error", payload__truncated_from=1_000_000).exists()


def test_killed_worker_mid_turn_loses_and_duplicates_nothing(owner, workers, worker):
    slow = FakeServerConfig(reply=" ".join(f"w{i}" for i in range(40)), chunk_delay=0.05)
    with run_in_thread(slow) as server:
        session = start(owner, make_team(owner, profile=fake_profile(server)), provider="openai",
                        protocol_params={"rounds": 2})
        wait_until(lambda: Session.objects.filter(pk=session.pk, next_turn__gte=1, lease_token__gt="").exists(),
                   timeout=30, what="the second turn in flight")
        time.sleep(0.5)
        worker.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        workers.ensure()  # a new worker: its sweeper finds the expired lease
        session = wait_for(session, timeout=90)
        recovered_in = time.monotonic() - killed_at
    assert session.status == "finished"
    assert recovered_in < 60
    assert_gapless(session)
    turns = message_turns(session)
    assert turns == [(i, a) for i, a in enumerate(["analyst", "coder", "tester"] * 2)]
