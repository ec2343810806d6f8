"""Pause, resume, step, stop, inject, edit plan, seats: services over a real worker."""

import time

import pytest

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions import services
from collab.sessions.models import Event, Membership, Seat
from collab.sessions.permissions import Refused
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


def test_pause_cuts_the_stream_and_records_the_partial_message(owner, worker):
    slow = FakeServerConfig(reply=" ".join(f"word{i}" for i in range(200)), chunk_delay=0.05)
    with run_in_thread(slow) as server:
        team = make_team(owner, profile=fake_profile(server))
        session = start(owner, team, protocol="round_robin", protocol_params={"rounds": 3}, provider="openai")
        wait_until(lambda: server.requests, what="a model call in flight")
        time.sleep(0.8)  # some deltas are out
        services.session_pause(session=session, user=owner)
        partial = wait_until(lambda: Event.objects.filter(session=session, kind="message",
                                                          payload__interrupted=True).first(),
                             timeout=5, what="the interrupted message")
        assert 0 < len(partial.payload["text"].split()) < 200
        wait_for(session, statuses=("paused",))
        server.config.chunk_delay = 0
        services.session_resume(session=session, user=owner)
        session = wait_for(session)
    assert session.status == "finished"
    assert_gapless(session)
    turns = message_turns(session)
    assert len(turns) == len(set(turns))


def test_step_runs_one_turn_then_pauses(owner, worker):
    team = make_team(owner)
    session = services.session_create(owner=owner, team=team, protocol="round_robin", protocol_params={"rounds": 3})
    services.session_start(session=session, user=owner)
    services.session_pause(session=session, user=owner)
    session.refresh_from_db()
    before = session.next_turn
    services.session_step(session=session, user=owner)
    session = wait_for(session, statuses=("paused",))
    wait_until(lambda: (session.refresh_from_db() or session.next_turn == before + 1), what="one step")
    assert session.status == "paused"


def test_stop_ends_the_session_and_says_who(owner, worker):
    session = start(owner, make_team(owner), protocol="round_robin", protocol_params={"rounds": 50}, max_turns=100)
    services.session_stop(session=session, user=owner)
    session = wait_for(session)
    final = session.events.filter(kind="state").order_by("-seq").first()
    assert final.payload["ended_by"] == "owner"
    assert final.actor == "user:owner"


def test_injected_message_is_answered(owner, worker):
    team = make_team(owner)
    session = services.session_create(owner=owner, team=team, protocol="round_robin", protocol_params={"rounds": 1})
    services.session_inject(session=session, user=owner, text="Please focus on security first.")
    services.session_start(session=session, user=owner)
    session = wait_for(session)
    first_reply = session.events.filter(kind="message", actor="analyst").first()
    assert "facilitator" in first_reply.payload["text"]
    assert "security" in first_reply.payload["text"]


def test_taken_seat_waits_for_the_human_and_the_team_responds(owner, participant, worker):
    team = make_team(owner)
    session = services.session_create(owner=owner, team=team, protocol="round_robin", protocol_params={"rounds": 1})
    services.membership_add(session=session, by=owner, user=participant, capacity=Membership.Capacity.PARTICIPANT)
    services.seat_take(session=session, user=participant, role="coder")
    services.session_start(session=session, user=owner)
    session = wait_for(session, statuses=("awaiting_human",))
    assert session.state["awaiting"]["roles"] == ["coder"]
    with pytest.raises(Refused, match="do not hold"):
        services.seat_message(session=session, user=owner, role="coder", text="hi")
    with pytest.raises(Refused, match="at most"):
        services.seat_message(session=session, user=participant, role="coder", text="x" * 9000)
    services.seat_message(session=session, user=participant, role="coder", text="I will write the parser.")
    session = wait_for(session)
    coder = session.events.get(kind="message", actor="coder")
    assert coder.payload["human"] == "participant"
    assert coder.payload["text"] == "I will write the parser."
    tester = session.events.get(kind="message", actor="tester")
    assert "Thanks, coder" in tester.payload["text"]
    assert_gapless(session)


def test_seat_timeout_lets_the_agent_answer(owner, worker):
    team = make_team(owner)
    session = services.session_create(owner=owner, team=team, protocol="round_robin", protocol_params={"rounds": 1},
                                      human_seats=["analyst"], seat_timeout=5)
    Seat.objects.filter(session=session).update(timeout_seconds=1)
    services.session_start(session=session, user=owner)
    session = wait_for(session, timeout=30)
    assert session.status == "finished"
    assert session.events.filter(kind="notice", payload__seat_timeout="analyst").exists()
    assert session.events.get(kind="message", actor="analyst").payload.get("scripted")


def test_observers_and_outsiders_cannot_steer(owner, outsider, participant):
    session = services.session_create(owner=owner, team=make_team(owner))
    services.membership_add(session=session, by=owner, user=outsider, capacity=Membership.Capacity.OBSERVER)
    for action in (services.session_start, services.session_pause, services.session_stop):
        with pytest.raises(Refused):
            action(session=session, user=outsider)
    with pytest.raises(Refused):
        services.session_inject(session=session, user=outsider, text="hi")
    with pytest.raises(Refused, match="observers watch"):
        services.seat_take(session=session, user=outsider, role="coder")
    with pytest.raises(Refused):
        services.seat_take(session=session, user=participant, role="coder")
    assert not Event.objects.filter(session=session).exists()


def test_plan_edit_is_an_event_with_its_diff(owner):
    session = services.session_create(owner=owner, team=make_team(owner))
    services.session_edit_plan(session=session, user=owner, steps=[{"text": "Write spec", "owner": "analyst"}],
                               base_version=0)
    event = services.session_edit_plan(session=session, user=owner, steps=[
        {"text": "Write spec", "owner": "analyst", "status": "done"}, {"text": "Code it", "owner": "coder"}],
        base_version=1)
    assert event.actor == "user:owner"
    assert [c["op"] for c in event.payload["diff"]] == ["change", "add"]
    with pytest.raises(Refused, match="not a role"):
        services.session_edit_plan(session=session, user=owner, steps=[{"text": "x", "owner": "ghost"}],
                                   base_version=2)
    session.refresh_from_db()
    assert session.state["plan"]["version"] == 2
