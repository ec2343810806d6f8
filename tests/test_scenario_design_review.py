import random

import pytest

from collab.engine import scenarios

REVIEW = scenarios.get("design_review")
ROLES = ["Project Manager", "Problem Formulation", "System Complexity", "Societal & Ethical"]
CRITERIA = ["Problem definition", "Technical feasibility", "Societal & ethical impact", "Project plan"]


def submitted(talk, sections):
    state = REVIEW.initial_state({"talk_rounds": 1}, ROLES, 0)
    for name, text in zip(ROLES, talk, strict=True):
        assert REVIEW.next_step(state)["actors"] == [name]
        state = REVIEW.record_talk(state, name, text)
    assert REVIEW.next_step(state) == {"phase": "act", "actors": ["Project Manager"], "simultaneous": False,
                                       "round": 2}
    action = {"proposal": "A solar still", "sections": sections}
    clean, reason = REVIEW.validate_action(state, "Project Manager", action)
    assert reason is None
    state, report = REVIEW.apply(state, {"Project Manager": clean}, random.Random(0))
    assert REVIEW.next_step(state) is None
    return state, report


def test_coverage_of_perspectives_and_sections():
    state, report = submitted(
        ["Budget first.", "Users are 300 students.", "", "Water safety matters."],
        {"Problem definition": "Clean water for 300.", "Technical feasibility": "  ", "Project plan": "Two terms."},
    )
    m = REVIEW.metrics(state)
    assert m["contributors"] == ["Project Manager", "Problem Formulation", "Societal & Ethical"]
    assert m["perspective_coverage"] == 0.75
    # Two of four sections have text (one is blank, one is missing).
    assert m["section_coverage"] == 0.5 and report["section_coverage"] == 0.5
    assert state["proposal"]["sections"]["Societal & ethical impact"] == ""
    assert m["rubric_scores"] == {} and m["mean_rubric_total"] is None
    assert REVIEW.chart(state)["series"][0]["values"] == [1, 1, 0, 1]


def test_scoring_by_instructor_and_judge():
    state, _ = submitted(["a", "b", "c", "d"], {c: "text" for c in CRITERIA})
    scored = REVIEW.score(state, dict(zip(CRITERIA, [3, 2, 1, 0], strict=True)), "instructor")
    scored = REVIEW.score(scored, dict.fromkeys(CRITERIA, 3), "judge")
    assert state["scores"] == {}, "score returns a new state"
    m = REVIEW.metrics(scored)
    # (3 + 2 + 1 + 0) / (4 criteria x top level 3) = 0.5; the judge gives everything the top level.
    assert m["rubric_totals"] == {"instructor": 0.5, "judge": 1.0}
    assert m["mean_rubric_total"] == 0.75
    chart = REVIEW.chart(scored)
    assert chart["x"] == CRITERIA and chart["series"][0] == {"name": "instructor", "values": [3, 2, 1, 0]}


def test_bad_scores_are_refused():
    state, _ = submitted(["a", "b", "c", "d"], {})
    with pytest.raises(ValueError, match="no score for Project plan"):
        REVIEW.score(state, dict(zip(CRITERIA[:3], [1, 1, 1], strict=True)), "judge")
    with pytest.raises(ValueError, match="level index from 0 to 3, got 4"):
        REVIEW.score(state, dict.fromkeys(CRITERIA, 4), "judge")
    with pytest.raises(ValueError, match="unknown criteria Style"):
        REVIEW.score(state, {**dict.fromkeys(CRITERIA, 1), "Style": 2}, "judge")
    fresh = REVIEW.initial_state({}, ROLES, 0)
    with pytest.raises(ValueError, match="no proposal has been submitted"):
        REVIEW.score(fresh, dict.fromkeys(CRITERIA, 1), "judge")


def test_custom_rubric_and_manager():
    rubric = [{"name": "Clarity", "description": "Easy to follow.", "levels": ["poor", "good"]}]
    state = REVIEW.initial_state({"rubric": rubric, "talk_rounds": 0, "manager_role": "B"}, ["A", "B"], 0)
    assert REVIEW.next_step(state)["actors"] == ["B"]
    assert REVIEW.action_schema(state, "B")["properties"]["sections"]["properties"] == {
        "Clarity": {"type": "string", "maxLength": 20000}}
    with pytest.raises(ValueError, match="levels must be a list of at least two labels"):
        REVIEW.params({"rubric": [{"name": "X", "levels": ["only"]}]})
    with pytest.raises(ValueError, match="criterion names must be unique"):
        REVIEW.params({"rubric": rubric + rubric})
    with pytest.raises(ValueError, match="brief must not be empty"):
        REVIEW.params({"brief": " "})


def test_scripted_proposal_covers_every_criterion():
    state, _ = scenarios.play_scripted(REVIEW, ROLES, "templated")
    m = REVIEW.metrics(state)
    assert m["perspective_coverage"] == 1.0 and m["section_coverage"] == 1.0
    assert m["utterances"] == dict.fromkeys(ROLES, 2)


PANEL_AND_JUDGE = ROLES + ["Judge"]


def judged_state(sections):
    state = REVIEW.initial_state({"talk_rounds": 1, "judge_role": "Judge"}, PANEL_AND_JUDGE, 0)
    # The judge sits out the discussion: only the four panel roles talk, then the manager writes.
    for name in ROLES:
        assert REVIEW.next_step(state)["actors"] == [name]
        state = REVIEW.record_talk(state, name, f"{name} speaks.")
    state, _ = REVIEW.apply(state, {"Project Manager": {"proposal": "P", "sections": sections}}, random.Random(0))
    assert REVIEW.next_step(state) == {"phase": "act", "actors": ["Judge"], "simultaneous": False, "round": 3}
    return state


def test_a_judge_role_scores_the_proposal():
    state = judged_state({"Problem definition": "Clean water for 300 students."})
    observation = REVIEW.observation(state, "Judge")
    assert "Clean water for 300 students." in observation and "0 = Missing" in observation
    with pytest.raises(ValueError, match="is judging the proposal"):
        REVIEW.score(state, dict.fromkeys(CRITERIA, 1), "instructor")
    _, reason = REVIEW.validate_action(state, "Judge", {"scores": {"Problem definition": 1}})
    assert "Technical feasibility" in reason, "every criterion needs a level"
    _, reason = REVIEW.validate_action(state, "Judge", {"scores": dict.fromkeys(CRITERIA, 4)})
    assert reason and "3" in reason, "levels stop at the rubric's top"
    verdict = {"scores": dict(zip(CRITERIA, [3, 1, 0, 2], strict=True)), "rationale": "Clear need, thin plan."}
    state, report = REVIEW.apply(state, {"Judge": verdict}, random.Random(0))
    assert REVIEW.next_step(state) is None and state["end_reason"] == "Judge scored the proposal"
    assert report["scorer"] == "Judge"
    m = REVIEW.metrics(state)
    assert m["rubric_totals"] == {"Judge": 0.5}  # (3 + 1 + 0 + 2) / 12
    assert m["judge"] == "Judge" and m["judge_rationale"] == "Clear need, thin plan."
    assert m["perspective_coverage"] == 1.0 and "Judge" not in m["utterances"]
    # The instructor still scores afterwards, side by side with the judge.
    scored = REVIEW.score(state, dict.fromkeys(CRITERIA, 3), "instructor")
    assert REVIEW.metrics(scored)["rubric_totals"] == {"Judge": 0.5, "instructor": 1.0}


def test_no_valid_verdict_leaves_scoring_to_the_instructor():
    state = judged_state({})
    state, report = REVIEW.apply(state, {"Judge": {"scores": {"Style": 9}}}, random.Random(0))
    assert report["defaulted"] == ["Judge"]
    assert state["scores"] == {} and "awaits the instructor" in state["end_reason"]


def test_the_scripted_judge_is_a_length_heuristic():
    words = " ".join(["word"] * 60)
    state = judged_state({"Problem definition": words, "Technical feasibility": "short", "Project plan": ""})
    verdict = REVIEW.scripted_action(state, "Judge", "templated", random.Random(0))
    # 60 words: 1 + 60 // 25 = 3; 1 word: 1; empty or missing: 0.
    assert verdict["scores"] == {"Problem definition": 3, "Technical feasibility": 1,
                                 "Societal & ethical impact": 0, "Project plan": 0}
    assert verdict["rationale"].startswith("Scripted judge")


def test_judge_parameters_are_checked():
    with pytest.raises(ValueError, match="judge_role 'Nobody' is not one of the roles"):
        REVIEW.initial_state({"judge_role": "Nobody"}, ROLES, 0)
    with pytest.raises(ValueError, match="cannot both write the proposal and judge it"):
        REVIEW.initial_state({"judge_role": "B", "manager_role": "B"}, ["A", "B"], 0)
    with pytest.raises(ValueError, match="needs a panel"):
        REVIEW.initial_state({"judge_role": "A"}, ["A"], 0)


# --- evaluation mode: the panel and a coordinator evaluate a given proposal --------------------

EVAL_ROLES = ["Coordinator", "Problem Formulation", "System Complexity", "Societal & Ethical"]
GIVEN = {"summary": "A solar still with a UV stage.", "sections": {
    "Problem definition": "300 students need 5 litres a day each; the unit must run without grid power. " * 3,
    "Technical feasibility": "Off-the-shelf panels and a UV lamp.",
    "Societal & ethical impact": "",
    "Project plan": "Two semesters: design, build, field test, report. " * 6,
}}
HUMAN = {"Problem definition": 2, "Technical feasibility": 2, "Societal & ethical impact": 0, "Project plan": 3}


def evaluate(params=None):
    sc = scenarios.get("design_review")
    return sc, sc.initial_state({"mode": "evaluate", "proposal": GIVEN, "human_scores": HUMAN, **(params or {})},
                                EVAL_ROLES, 0)


def test_panel_then_coordinator_evaluate_and_agreement_by_hand():
    sc, state = evaluate()
    assert state["proposal"]["sections"]["Project plan"].startswith("Two semesters")
    step = sc.next_step(state)
    assert step["phase"] == "act" and step["actors"] == EVAL_ROLES[1:] and step["simultaneous"]
    assert "The proposal to evaluate" in sc.observation(state, "System Complexity")
    assessments = {
        "Problem Formulation": {"Problem definition": 3, "Technical feasibility": 1, "Societal & ethical impact": 0,
                                "Project plan": 2},
        "System Complexity": {"Problem definition": 2, "Technical feasibility": 1, "Societal & ethical impact": 1,
                              "Project plan": 3},
        "Societal & Ethical": {"Problem definition": 2, "Technical feasibility": 2, "Societal & ethical impact": 0,
                               "Project plan": 3},
    }
    state, _ = sc.apply(state, {n: {"scores": s, "rationale": f"{n} view"} for n, s in assessments.items()},
                        random.Random(0))
    assert sc.next_step(state)["actors"] == ["Coordinator"]
    seen = sc.observation(state, "Coordinator")
    assert "The panel's assessments:" in seen and "(System Complexity view)" in seen
    # The scripted coordinator rounds the panel's mean levels: 2.33 -> 2, 1.33 -> 1, 0.33 -> 0, 2.67 -> 3.
    verdict = sc.scripted_action(state, "Coordinator", "templated", random.Random(0))
    assert verdict["scores"] == {"Problem definition": 2, "Technical feasibility": 1,
                                 "Societal & ethical impact": 0, "Project plan": 3}
    state, report = sc.apply(state, {"Coordinator": verdict}, random.Random(0))
    assert sc.next_step(state) is None and "the panel evaluated the proposal" in sc.end_reason(state)
    m = sc.metrics(state)
    # Against the human grader: equal on 3 of 4 criteria, one level off on Technical feasibility.
    assert m["agreement_exact"] == 0.75 and m["agreement_within_one"] == 1.0
    assert m["mean_abs_level_diff"] == 0.25 and report["agreement"]["agreement_exact"] == 0.75
    assert m["panel_total"] == 6 / 12 and m["human_total"] == 7 / 12
    assert sc.chart(state)["series"][1] == {"name": "Human grader", "values": [2, 2, 0, 3]}


def test_single_agent_baseline_and_a_human_grader_scoring_afterwards():
    sc, state = evaluate({"single_agent": True, "human_scores": {}})
    assert sc.next_step(state) == {"phase": "act", "actors": ["Coordinator"], "simultaneous": False, "round": 2}
    assert "Coordinator evaluates it alone" in sc.rules_text(state)
    state, _ = sc.apply(state, {"Coordinator": {"scores": HUMAN}}, random.Random(0))
    assert "agreement_exact" not in sc.metrics(state)  # no human grader yet
    state = sc.score(state, {"Problem definition": 2, "Technical feasibility": 0, "Societal & ethical impact": 0,
                             "Project plan": 3}, scorer="prof")
    m = sc.metrics(state)
    assert m["agreement_exact"] == 0.75 and m["agreement_within_one"] == 0.75 and m["mean_abs_level_diff"] == 0.5


def test_evaluation_parameters_are_checked():
    sc = scenarios.get("design_review")
    with pytest.raises(ValueError, match="evaluate mode needs a proposal with sections"):
        sc.params({"mode": "evaluate"})
    with pytest.raises(ValueError, match="proposal sections not in the rubric: Budget"):
        sc.params({"mode": "evaluate", "proposal": {"sections": {"Budget": "x"}}})
    with pytest.raises(ValueError, match="human_scores: score for Project plan must be a level index from 0 to 3"):
        sc.params({"mode": "evaluate", "proposal": GIVEN, "human_scores": {**HUMAN, "Project plan": 9}})
    with pytest.raises(ValueError, match="human_scores: no score for"):
        sc.params({"mode": "evaluate", "proposal": GIVEN, "human_scores": {"Project plan": 1}})
