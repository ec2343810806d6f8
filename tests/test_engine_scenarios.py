"""Scenarios driven by the engine: actions validated, state and scores logged
after every round, so replay and analytics see them."""

import pytest

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions import services
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset
from tests.engine_helpers import assert_gapless, fake_profile, start, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def preset_session(owner, key, **overrides):
    preset = PRESETS[key]
    team = team_create_from_preset(preset_key=key, owner=owner)
    kwargs = dict(protocol=preset.protocol, protocol_params=preset.protocol_params, max_turns=preset.max_turns)
    kwargs.update(overrides)
    return team, kwargs


def test_fishery_logs_a_state_event_per_month_with_chart_and_metrics(owner, worker):
    team, kwargs = preset_session(owner, "fishery_village")
    session = wait_for(start(owner, team, **kwargs), timeout=120)
    assert session.status == "finished"
    assert session.scenario == "fishery"
    states = list(session.events.filter(kind="scenario_state").order_by("seq"))
    assert len(states) == states[-1].payload["metrics"]["survival_time"]
    for month, event in enumerate(states, 1):
        assert event.payload["chart"]["x"] == list(range(1, month + 1))
    assert session.end_reason == states[-1].payload["end_reason"]
    assert "collapsed" in session.end_reason  # one greedy fisher in the preset
    assert session.events.filter(kind="action").count() == 5 * len(states)
    assert session.events.filter(kind="message", payload__purpose="talk").exists()
    assert session.events.order_by("-seq").first().payload["ended_by"] == "scenario"
    assert_gapless(session)


def test_invalid_actions_are_reasked_then_defaulted(owner, worker):
    # Five fishers ask at once and all get broken output; of the five re-asks, one is broken again.
    replies = ['{"catch": "lots"}', "nonsense", '{"catch": -3}', "{", '{"tons": 4}', "still nonsense"]
    with run_in_thread(FakeServerConfig(replies=replies, reply='{"catch": 10}')) as server:
        team, kwargs = preset_session(owner, "fishery_village")
        team.roles.update(model_profile=fake_profile(server))
        kwargs["protocol_params"] = {**kwargs["protocol_params"], "params": {"months": 1}}
        session = wait_for(start(owner, team, provider="openai", **kwargs), timeout=60)
    notices = [e.payload for e in session.events.filter(kind="turn_error")]
    assert any(n.get("reask") for n in notices)
    assert any("default" in n for n in notices)
    defaulted = session.events.filter(kind="action", payload__defaulted=True)
    assert defaulted.count() == 1


def test_bad_scenario_parameters_are_refused_clearly(owner):
    team, kwargs = preset_session(owner, "fishery_village")
    with pytest.raises(ValueError, match="months"):
        services.session_create(owner=owner, team=team, protocol="scenario",
                                protocol_params={"scenario": "fishery", "params": {"months": "many"}})
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        services.session_create(owner=owner, team=team, protocol="scenario", protocol_params={"scenario": "nope"})
    with pytest.raises(ValueError, match="unknown strategy"):
        services.session_create(owner=owner, team=team, protocol="scenario",
                                protocol_params={"scenario": "fishery", "strategies": "chaotic"})


def test_instructor_scores_a_design_proposal(owner, outsider):
    from collab.engine.runner import inline, run_inline
    from collab.sessions.permissions import Refused

    team, kwargs = preset_session(owner, "senior_design_panel")
    session = services.session_create(owner=owner, team=team, **kwargs)
    with inline():
        services.session_start(session=session, user=owner)
        session = run_inline(session.pk)
    assert session.status == "finished" and session.scenario == "design_review"
    assert session.end_reason == "Faculty Judge scored the proposal"
    judged = session.events.filter(kind="scenario_state").order_by("-seq").first().payload
    assert set(judged["metrics"]["rubric_scores"]) == {"Faculty Judge"}
    assert judged["metrics"]["judge_rationale"].startswith("Scripted judge")
    # The judge sits out the discussion: only the four panel roles talk.
    talkers = set(session.events.filter(kind="message", payload__purpose="talk").values_list("actor", flat=True))
    assert len(talkers) == 4 and not any("Faculty Judge" in t for t in talkers)
    rubric = [c["name"] for c in session.state["protocol"]["params"]["rubric"]]
    with pytest.raises(Refused, match="no score for"):
        services.session_score(session=session, user=owner, scores={rubric[0]: 1})
    with pytest.raises(Refused):
        services.session_score(session=session, user=outsider, scores={name: 1 for name in rubric})
    event = services.session_score(session=session, user=owner, scores={name: 2 for name in rubric})
    assert event.kind == "scenario_state" and event.actor == "user:owner"
    assert set(event.payload["metrics"]["rubric_scores"]) == {"Faculty Judge", "owner"}
    assert_gapless(session)


def test_a_model_judge_scores_the_proposal_over_http(owner, worker):
    """The judge role on a real model server: its JSON verdict, validated
    against the rubric's schema, becomes scores beside the instructor's."""
    import json

    proposal = {"proposal": "A solar still", "sections": {"Problem definition": "300 students need water."}}
    bad_verdict = {"scores": {"Problem definition": 9}}  # out of range: re-asked
    verdict = {"scores": {"Problem definition": 2, "Technical feasibility": 0, "Societal & ethical impact": 0,
                          "Project plan": 1}, "rationale": "Only the problem is defined."}
    replies = [json.dumps(proposal), json.dumps(bad_verdict), json.dumps(verdict)]
    with run_in_thread(FakeServerConfig(replies=replies, reply="(nothing more)")) as server:
        team, kwargs = preset_session(owner, "senior_design_panel")
        team.roles.update(model_profile=fake_profile(server))
        kwargs["protocol_params"] = {**kwargs["protocol_params"],
                                     "params": {"judge_role": "Faculty Judge", "talk_rounds": 0}}
        session = wait_for(start(owner, team, provider="openai", **kwargs), timeout=60)
        judge_calls = [r for r in server.requests if "Score it" in json.dumps(r["messages"])]
    assert session.status == "finished", session.end_reason
    assert len(judge_calls) == 2, "the out-of-range verdict is re-asked once"
    metrics = session.events.filter(kind="scenario_state").order_by("-seq").first().payload["metrics"]
    assert metrics["rubric_scores"] == {"Faculty Judge": verdict["scores"]}
    assert metrics["rubric_totals"]["Faculty Judge"] == 0.25  # (2 + 0 + 0 + 1) / (4 x 3)
    assert metrics["judge_rationale"] == "Only the problem is defined."
    assert any(e.payload.get("reask") for e in session.events.filter(kind="turn_error"))
    assert_gapless(session)
