import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.ranking import TASKS, ranking_distance, worst_distance

RANKING = scenarios.get("ranking")
TRUTH = [item for item, _ in TASKS["moon"]["expert"]]
ROLES = ["Reporter", "Member", "Expert"]


def swap(ranking, *pairs):
    out = list(ranking)
    for i, j in pairs:
        out[i], out[j] = out[j], out[i]
    return out


def play(individual, team, params=None):
    state = RANKING.initial_state({"discussion_rounds": 1, "team_answer": "reporter", **(params or {})}, ROLES, 0)
    state, _ = RANKING.apply(state, {n: {"ranking": r} for n, r in individual.items()}, random.Random(0))
    while RANKING.next_step(state)["phase"] == "talk":
        state = RANKING.record_talk(state, RANKING.next_step(state)["actors"][0], "my view")
    assert RANKING.next_step(state)["actors"] == ["Reporter"]
    state, _ = RANKING.apply(state, {"Reporter": {"ranking": team}}, random.Random(0))
    assert RANKING.next_step(state) is None
    return state


def test_errors_and_synergy_gap_by_hand():
    individual = {
        "Reporter": swap(TRUTH, (0, 1)),  # error 1 + 1 = 2
        "Member": TRUTH[::-1],            # error |2i - 14| over i = 2 * (14+12+10+8+6+4+2) = 112
        "Expert": TRUTH,                  # error 0
    }
    team = swap(TRUTH, (2, 3), (4, 5))    # error 4
    m = RANKING.metrics(play(individual, team))
    assert m["member_errors"] == {"Reporter": 2, "Member": 112, "Expert": 0}
    assert m["best_member"] == "Expert" and m["best_member_error"] == 0
    assert m["team_error"] == 4 and m["synergy_gap"] == 4
    # Relative loss: scores are 1 - error / 112 (a reversal of 15 items): the expert 1, the team 1 - 4/112.
    assert m["best_member_score"] == 1 and m["team_score"] == pytest.approx(1 - 4 / 112)
    assert m["synergy_gap_relative"] == pytest.approx(4 / 112)
    # Mean rank of item k: Reporter's rank + (14 - k) + k over 3 = (rank_R + 14) / 3, so the mean
    # ranking is the Reporter's ranking (error 2). Team to it: 2 + 4 = 6; team to the expert: 4.
    assert m["mean_ranking"] == individual["Reporter"] and m["mean_ranking_error"] == 2
    assert m["team_distance_to_expert"] == 4 and m["team_distance_to_mean"] == 6
    assert m["team_closer_to"] == "expert"
    chart = RANKING.chart(play(individual, team))
    assert chart["x"] == ["Reporter", "Member", "Expert", "Mean ranking", "Team"]
    assert chart["series"][0]["values"] == [2, 112, 0, 2, 4]


def test_team_that_averages_is_closer_to_the_mean():
    individual = {"Reporter": swap(TRUTH, (0, 1)), "Member": TRUTH[::-1], "Expert": TRUTH}
    m = RANKING.metrics(play(individual, swap(TRUTH, (0, 1))))
    assert m["team_closer_to"] == "mean" and m["synergy_gap"] == 2


def test_ranking_distance():
    assert ranking_distance(TRUTH, TRUTH) == 0
    assert ranking_distance(swap(TRUTH, (0, 9)), TRUTH) == 18


def test_only_the_expert_sees_the_expert_ranking():
    state = RANKING.initial_state({}, ROLES, 0)
    assert "Private: you are the expert" in RANKING.observation(state, "Expert")
    assert "nearly worthless" in RANKING.observation(state, "Expert")
    assert "Private" not in RANKING.observation(state, "Member")
    assert state["items"] != TRUTH and sorted(state["items"]) == sorted(TRUTH)


def test_roles_from_params():
    state = RANKING.initial_state({"expert_role": "Member", "reporter_role": "Expert"}, ROLES, 0)
    assert state["expert_role"] == "Member" and state["reporter"] == "Expert"
    with pytest.raises(ValueError, match="expert_role 'Nobody' is not one of the roles"):
        RANKING.initial_state({"expert_role": "Nobody"}, ROLES, 0)


def test_rankings_are_validated():
    state = RANKING.initial_state({}, ROLES, 0)
    dup = TRUTH[:14] + [TRUTH[0]]
    assert RANKING.validate_action(state, "Member", {"ranking": dup})[1] == (
        'action.ranking[14]: "Two 100 lb tanks of oxygen" appears more than once')
    wrong = TRUTH[:14] + ["Chocolate"]
    assert 'action.ranking[14]: "Chocolate" is not one of' in RANKING.validate_action(state, "Member",
                                                                                    {"ranking": wrong})[1]
    assert RANKING.validate_action(state, "Member", {"ranking": TRUTH}) == ({"ranking": TRUTH}, None)


def test_scripted_reporters():
    state = RANKING.initial_state({"discussion_rounds": 0, "team_answer": "reporter"}, ROLES, 0)
    rng = random.Random(3)
    actions = {n: RANKING.scripted_action(state, n, s, rng)
               for n, s in [("Reporter", "anchored"), ("Member", "anchored"), ("Expert", "expert_truthful")]}
    assert actions["Expert"] == {"ranking": TRUTH}
    state, _ = RANKING.apply(state, actions, rng)
    follow = RANKING.scripted_action(state, "Reporter", "follow_expert", rng)
    assert follow == {"ranking": TRUTH}
    average = RANKING.scripted_action(state, "Reporter", "average", rng)
    assert average["ranking"] == RANKING.metrics(state)["mean_ranking"]
    assert RANKING.default_action(state, "Reporter") == {"ranking": state["individual"]["Reporter"]}


def test_full_tasks_have_fifteen_items_and_their_answer_keys():
    assert len(TASKS["moon"]["expert"]) == 15 and len(TASKS["sea"]["expert"]) == 15
    for task in TASKS.values():
        items = [item for item, _ in task["expert"]]
        assert sorted(task["naive"]) == sorted(items) and len(set(items)) == len(items)
    sea = [item for item, _ in TASKS["sea"]["expert"]]
    assert sea[:3] == ["Shaving mirror", "Two-gallon can of oil-gas mixture", "Five-gallon can of water"]
    assert sea[-1] == "Sextant" and TRUTH[-1] == "Box of matches" and TRUTH[7] == "Parachute silk"
    assert worst_distance(15) == ranking_distance(TRUTH[::-1], TRUTH) == 112


def test_consensus_team_answer_is_the_members_mean_final_ranking():
    state = RANKING.initial_state({"discussion_rounds": 0}, ROLES, 0)
    assert RANKING.params()["team_answer"] == "consensus"
    state, _ = RANKING.apply(state, {n: {"ranking": TRUTH} for n in ROLES}, random.Random(0))
    step = RANKING.next_step(state)
    assert step["actors"] == ROLES and step["simultaneous"]
    assert "Submit the team's ranking" in RANKING.observation(state, "Member")
    final = {"Reporter": swap(TRUTH, (0, 1)), "Member": swap(TRUTH, (0, 1)), "Expert": TRUTH}
    state, _ = RANKING.apply(state, {n: {"ranking": r} for n, r in final.items()}, random.Random(0))
    # Mean ranks: item 0 at (1 + 1 + 0) / 3, item 1 at (0 + 0 + 1) / 3: the majority's swap wins.
    assert state["team"] == swap(TRUTH, (0, 1)) and state["final"] == final
    m = RANKING.metrics(state)
    assert m["team_error"] == 2 and m["synergy_gap"] == 2 and m["synergy_gap_relative"] == pytest.approx(2 / 112)
    unanimous = RANKING.initial_state({"discussion_rounds": 0}, ROLES, 1)
    unanimous, _ = RANKING.apply(unanimous, {n: {"ranking": TRUTH} for n in ROLES}, random.Random(0))
    unanimous, _ = RANKING.apply(unanimous, {n: {"ranking": TRUTH[::-1]} for n in ROLES}, random.Random(0))
    assert unanimous["team"] == TRUTH[::-1]
