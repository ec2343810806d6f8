"""Every protocol and topology runs to its end through a real Celery worker
and real Redis, on scripted agents and on the fake OpenAI-compatible server."""

import pytest

from collab.engine.protocols import PROTOCOLS
from collab.llm.fake_server import FakeServerConfig, run_in_thread
from tests.engine_helpers import assert_gapless, fake_profile, make_team, message_turns, start, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {
    "round_robin": {"rounds": 2},
    "moderator": {"moderator": "analyst", "speeches": 3},
    "phases": {"phases": [
        {"name": "analysis", "participants": ["analyst"], "turns": 1},
        {"name": "coding", "participants": ["coder"], "turns": 1},
        {"name": "testing", "participants": ["tester"], "turns": 1, "feedback_to": "coding", "max_loops": 1},
    ]},
    "debate_vote": {"rounds": 1, "options": ["A", "B"]},
    "plan_execute": {"plan_turns": 1},
    "simultaneous": {"rounds": 2},
    "relay": {"lead_turns": 1},
    "scenario": {"scenario": "public_goods", "params": {"rounds": 2}, "strategies": "conditional"},
}


def test_every_protocol_has_a_case():
    assert sorted(PARAMS) == PROTOCOLS.names()


@pytest.mark.parametrize("protocol", sorted(PARAMS))
def test_protocol_runs_to_its_end_on_scripted_agents(protocol, owner, worker):
    session = start(owner, make_team(owner), protocol=protocol, protocol_params=PARAMS[protocol], max_turns=40)
    session = wait_for(session)
    assert session.status == "finished", session.end_reason
    events = assert_gapless(session)
    final = events[-1]
    assert final.kind == "state" and final.payload["status"] == "finished"
    assert final.payload["ended_by"] == ("scenario" if protocol == "scenario" else "protocol")
    turns = message_turns(session) if protocol != "scenario" else list(
        session.events.filter(kind="action").values_list("turn_index", "actor"))
    assert turns, "no agent spoke"
    assert len(turns) == len(set(turns)), "a turn's message was duplicated"
    assert all(e.payload.get("scripted") for e in events if e.kind == "message" and e.actor in {"analyst", "coder", "tester"})


def test_phases_feedback_loop_sends_work_back(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="phases", protocol_params=PARAMS["phases"], max_turns=40))
    actors = [a for _, a in message_turns(session)]
    # analyst, coder, tester (revise), coder again, tester (approve)
    assert actors == ["analyst", "coder", "tester", "coder", "tester"]
    assert "sends the work back" in " ".join(e.payload.get("text", "") for e in session.events.filter(kind="notice"))


def test_debate_vote_logs_votes_and_tally(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="debate_vote", protocol_params=PARAMS["debate_vote"]))
    votes = list(session.events.filter(kind="vote"))
    assert sorted(v.actor for v in votes) == ["analyst", "coder", "tester"]
    tally = session.events.get(kind="tally").payload
    assert sum(tally["tally"].values()) == 3
    assert tally["winner"] or tally["tie"]


def test_plan_execute_builds_and_completes_the_plan(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="plan_execute", protocol_params=PARAMS["plan_execute"],
                             max_turns=40))
    plans = list(session.events.filter(kind="plan").order_by("seq"))
    assert plans[0].payload["diff"][0]["op"] == "add"
    assert all(s["status"] == "done" for s in plans[-1].payload["plan"]["steps"])
    assert session.end_reason.startswith("plan complete")


VETO = {"moderator": "analyst", "speeches": 2, "veto_role": "tester", "max_vetoes": 1, "rework_speeches": 1}


def test_a_critic_with_a_veto_sends_the_work_back_before_it_is_handed_in(owner, worker):
    """Team of rivals: the scripted critic vetoes the first hand-in, the team
    reworks for one more speech, and the second review approves."""
    session = wait_for(start(owner, make_team(owner), protocol="moderator", protocol_params=VETO, max_turns=40))
    assert session.status == "finished", session.end_reason
    reviews = [e for e in session.events.filter(kind="message", actor="tester").order_by("seq")
               if e.payload.get("phase") == "veto review"]
    assert len(reviews) == 2
    verdicts = [e.payload for e in session.events.filter(kind="notice", actor="tester").order_by("seq")]
    assert [(v["veto"], v["vetoes"]) for v in verdicts] == [(True, 1), (False, 1)]
    assert "vetoes the work (veto 1 of 1)" in verdicts[0]["text"] and "approves" in verdicts[1]["text"]
    speeches = [e for e in session.events.filter(kind="message").order_by("seq") if e.payload.get("phase") == "speak"]
    assert len(speeches) == 3  # two, then one more after the veto
    assert session.end_reason == "moderated discussion finished 3 speeches; tester approved the work"


def test_a_critic_that_answers_no_valid_review_vetoes_until_the_vetoes_run_out(owner, worker):
    with run_in_thread(FakeServerConfig(reply="Looks fine to me.")) as server:
        team = make_team(owner, profile=fake_profile(server))
        session = wait_for(start(owner, team, protocol="moderator", protocol_params=VETO, provider="openai",
                                 max_turns=40))
    assert session.status == "finished", session.end_reason
    texts = [e.payload["text"] for e in session.events.filter(kind="notice", actor="tester").order_by("seq")]
    assert len(texts) == 2 and "veto 1 of 1" in texts[0] and "handed in over the veto" in texts[1]
    # Most replies were defaults (the moderator's and the critic's): the end reason says so.
    assert session.end_reason.startswith("moderated discussion finished 3 speeches; handed in over tester's veto; ")
    assert session.end_reason.endswith("were defaulted: scores unreliable")
    # Each review was asked twice (the re-ask), then defaulted to a veto, and an event says so.
    errors = [e.payload for e in session.events.filter(kind="turn_error", actor="tester")]
    assert sum(bool(e.get("reask")) for e in errors) == 2
    assert [e["default"]["verdict"] for e in errors if "default" in e] == ["revise", "revise"]


def test_max_turns_ends_the_session_and_says_so(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="round_robin", protocol_params={"rounds": 50},
                             max_turns=4))
    assert session.next_turn == 4
    final = session.events.order_by("-seq").first()
    assert final.payload["ended_by"] == "max_turns"


def test_token_budget_ends_the_session(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="round_robin", protocol_params={"rounds": 50},
                             max_turns=100, token_budget=60))
    assert session.events.order_by("-seq").first().payload["ended_by"] == "budget"


@pytest.mark.parametrize("protocol", sorted(PARAMS))
def test_protocol_runs_to_its_end_on_the_fake_openai_server(protocol, owner, worker):
    with run_in_thread(FakeServerConfig()) as server:
        team = make_team(owner, profile=fake_profile(server))
        session = wait_for(start(owner, team, protocol=protocol, protocol_params=PARAMS[protocol], provider="openai",
                                 max_turns=40))
        assert server.requests, "the fake server was never called"
    assert session.status == "finished", session.end_reason
    assert_gapless(session)
    calls = session.llm_calls.all()
    assert calls and all(c.provider == "openai" and c.model == "fake-model" for c in calls)
    assert all(c.prompt_tokens > 0 and c.completion_tokens > 0 for c in calls if not c.error)
    turns = message_turns(session)
    assert len(turns) == len(set(turns))
