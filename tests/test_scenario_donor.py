import itertools
import json
import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.donor import matching

DONOR = scenarios.get("donor")


def give(state, fractions, punish=None):
    actions = {}
    for name in DONOR.next_step(state)["actors"]:
        actions[name] = {"give_fraction": fractions[name]}
        if punish is not None:
            actions[name]["punish_fraction"] = punish.get(name, 0.0)
    state, report = DONOR.apply(state, actions, random.Random(0))
    return json.loads(json.dumps(state)), report


def test_round_robin_meets_every_pair_once():
    n = 12
    seen = set()
    for k in range(n - 1):
        pairs = matching(n, k)
        assert sorted(i for p in pairs for i in p) == list(range(n))
        seen.update(frozenset(p) for p in pairs)
    assert seen == {frozenset(p) for p in itertools.combinations(range(n), 2)}


def test_gift_is_doubled_and_roles_reverse_within_a_round():
    state = DONOR.initial_state({"strategy_phase": False}, ["A", "B"], 0)
    assert DONOR.next_step(state) == {"phase": "act", "actors": ["A"], "simultaneous": True, "round": 1}
    state, report = give(state, {"A": 0.5})
    # A gives 5 of 10: A 5, B 10 + 2 * 5 = 20.
    assert state["resources"] == {"A": 5.0, "B": 20.0}
    assert report["donations"][0]["received"] == 10.0
    assert DONOR.next_step(state)["actors"] == ["B"]
    state, _ = give(state, {"B": 0.25})
    # B gives 5 of 20: B 15, A 5 + 10 = 15.
    assert state["resources"] == {"A": 15.0, "B": 15.0}
    assert state["round"] == 2 and state["round_log"][0]["donation_fraction"] == pytest.approx(0.375)


def test_punishment_costs_the_donor_and_twice_as_much_to_the_recipient():
    state = DONOR.initial_state({"strategy_phase": False, "punishment": True}, ["A", "B"], 0)
    state, report = give(state, {"A": 0.2}, {"A": 0.1})
    # A spends 2 on the gift and 1 on punishment: 7. B: 10 + 4 - 2 = 12.
    assert state["resources"] == {"A": 7.0, "B": 12.0}
    assert report["donations"][0]["punished"] == 1.0 and report["donations"][0]["recipient_lost"] == 2.0
    state, _ = give(state, {"B": 0.0}, {"B": 1.0})
    # B spends all 12; A would lose 24 but stops at 0.
    assert state["resources"] == {"A": 0.0, "B": 0.0}
    assert DONOR.metrics(state)["punishments"] == 2


def test_gift_plus_punishment_cannot_exceed_everything():
    state = DONOR.initial_state({"strategy_phase": False, "punishment": True}, ["A", "B"], 0)
    clean, reason = DONOR.validate_action(state, "A", {"give_fraction": 0.7, "punish_fraction": 0.5})
    assert clean is None and reason == "give_fraction + punish_fraction must be at most 1, got 1.2"
    without = DONOR.initial_state({"strategy_phase": False}, ["A", "B"], 0)
    assert DONOR.validate_action(without, "A", {"give_fraction": 0.7, "punish_fraction": 0.5}) == (
        {"give_fraction": 0.7}, None)


def test_generation_selection_keeps_the_top_half():
    params = {"generations": 2, "rounds_per_generation": 1}
    state = DONOR.initial_state(params, ["A", "B", "C", "D"], 0)
    assert DONOR.next_step(state)["phase"] == "reflect"
    for name in ["A", "B", "C", "D"]:
        state = DONOR.record_reflection(state, name, f"strategy of {name}")
    # Round 1 pairs A-D and B-C; A and B donate first.
    state, _ = give(state, {"A": 1.0, "B": 0.0})
    state, report = give(state, {"D": 0.0, "C": 0.5})
    # A 0, B 10 + 2 * 5 = 20, C 5, D 10 + 20 = 30.
    result = report["generation_result"]
    assert result["resources"] == {"A": 0.0, "B": 20.0, "C": 5.0, "D": 30.0}
    assert result["survivors"] == ["D", "B"] and result["replaced"] == ["C", "A"]
    assert result["mean_resources"] == pytest.approx(13.75)
    assert state["generation"] == 2
    assert state["resources"] == {n: 10.0 for n in "ABCD"}
    assert state["advice"] == ["strategy of D", "strategy of B"]
    assert state["agents"]["A"] == {"id": "g2-A", "born": 2, "strategy": ""}
    assert state["agents"]["D"]["strategy"] == "strategy of D" and state["traces"]["A"] == []
    step = DONOR.next_step(state)
    assert step["phase"] == "reflect" and step["actors"] == ["A", "C"]
    assert "strategy of D" in DONOR.observation(state, "A")
    assert DONOR.metrics(state)["mean_final_resources_per_generation"] == [13.75]


def test_donor_sees_the_recipients_last_three_actions():
    state = DONOR.initial_state({"strategy_phase": False, "rounds_per_generation": 5}, ["A", "B"], 0)
    for fraction in [0.1, 0.2, 0.3, 0.4]:
        state, _ = give(state, {"A": 0.0})
        state, _ = give(state, {"B": fraction})
    text = DONOR.observation(state, "A")
    assert "gave 20%" in text and "gave 30%" in text and "gave 40%" in text and "gave 10%" not in text
    assert DONOR.scripted_action(state, "A", "reciprocal", random.Random(0)) == {"give_fraction": 0.3}
    assert DONOR.scripted_action(state, "A", "generous", random.Random(0)) == {"give_fraction": 0.6}
    assert DONOR.scripted_action(state, "A", "stingy", random.Random(0)) == {"give_fraction": 0.0}


def test_odd_team_is_refused():
    with pytest.raises(ValueError, match="even number"):
        DONOR.initial_state({}, ["A", "B", "C"], 0)


def test_chart_has_mean_resources_per_round():
    state, _ = scenarios.play_scripted(DONOR, [f"A{i}" for i in range(4)], "generous", seed=1,
                                       params={"generations": 2, "rounds_per_generation": 3})
    chart = DONOR.chart(state)
    assert chart["x"] == [1, 2, 3, 4, 5, 6]
    assert len(DONOR.metrics(state)["donation_fraction_per_round"]) == 6
