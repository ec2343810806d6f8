import json
import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.donor import schedule, shuffled

DONOR = scenarios.get("donor")


def give(state, fractions, punish=None):
    actions = {}
    for name in DONOR.next_step(state)["actors"]:
        actions[name] = {"give_fraction": fractions[name]}
        if punish is not None:
            actions[name]["punish_fraction"] = punish.get(name, 0.0)
    state, report = DONOR.apply(state, actions, random.Random(0))
    return json.loads(json.dumps(state)), report


def test_schedule_on_four_agents_by_hand():
    # Groups A = [a0, a1], B = [b0, b1]; round 2 rotates B and B donates; rounds 3-4 replay 1-2 reversed.
    assert schedule(["a0", "a1", "b0", "b1"]) == [
        [["a0", "b0"], ["a1", "b1"]],
        [["b1", "a0"], ["b0", "a1"]],
        [["b0", "a0"], ["b1", "a1"]],
        [["a0", "b1"], ["a1", "b0"]],
    ]


def test_schedule_of_twelve_is_the_papers():
    order = [f"x{i}" for i in range(12)]
    rounds = schedule(order)
    assert len(rounds) == 12
    donations = [pair for pairs in rounds for pair in pairs]
    for name in order:
        assert sum(1 for d, _ in donations if d == name) == 6  # everyone donates 6 times
        assert sum(1 for _, r in donations if r == name) == 6
    for pairs in rounds:
        # Half donate, half receive, and donors never give to the one who gave to them the round before.
        assert sorted(n for pair in pairs for n in pair) == sorted(order)
    for before, after in zip(rounds, rounds[1:], strict=False):
        assert not {(r, d) for d, r in before} & {tuple(p) for p in after}
    # Groups never donate within themselves: indirect, not direct, reciprocity.
    assert all((d in order[:6]) != (r in order[:6]) for d, r in donations)


def test_seeds_change_the_pairing_and_generations_reshuffle():
    names = [f"Agent {i}" for i in range(1, 13)]
    orders = {tuple(DONOR.initial_state({"strategy_phase": False}, names, seed)["order"]) for seed in range(10)}
    assert len(orders) == 10
    assert shuffled(names, 3, 1) == DONOR.initial_state({}, names, 3)["order"]  # the seed alone decides
    assert shuffled(names, 3, 1) != shuffled(names, 3, 2)
    first = DONOR.initial_state({"strategy_phase": False}, names, 1)
    second = DONOR.initial_state({"strategy_phase": False}, names, 2)
    assert DONOR.pairs(first) != DONOR.pairs(second)


def two(state):
    donor, recipient = state["order"]
    return donor, recipient


def test_gift_is_doubled_and_roles_reverse_next_round():
    state = DONOR.initial_state({"strategy_phase": False}, ["A", "B"], 0)
    first, second = two(state)
    assert DONOR.next_step(state) == {"phase": "act", "actors": [first], "simultaneous": True, "round": 1}
    state, report = give(state, {first: 0.5})
    # first gives 5 of 10: first 5, second 10 + 2 * 5 = 20.
    assert state["resources"] == {first: 5.0, second: 20.0}
    assert report["donations"][0]["received"] == 10.0
    assert DONOR.next_step(state)["actors"] == [second]
    state, _ = give(state, {second: 0.25})
    # second gives 5 of 20: second 15, first 5 + 10 = 15.
    assert state["resources"] == {first: 15.0, second: 15.0}
    assert state["round"] == 3 and [r["donation_fraction"] for r in state["round_log"]] == [0.5, 0.25]


def test_punishment_costs_the_donor_and_twice_as_much_to_the_recipient():
    state = DONOR.initial_state({"strategy_phase": False, "punishment": True}, ["A", "B"], 0)
    first, second = two(state)
    state, report = give(state, {first: 0.0}, {first: 0.1})
    # first spends 1 on punishment: 9. second: 10 - 2 = 8.
    assert state["resources"] == {first: 9.0, second: 8.0}
    assert report["donations"][0]["punished"] == 1.0 and report["donations"][0]["recipient_lost"] == 2.0
    state, _ = give(state, {second: 0.0}, {second: 1.0})
    # second spends all 8; first would lose 16 but stops at 0.
    assert state["resources"] == {first: 0.0, second: 0.0}
    assert DONOR.metrics(state)["punishments"] == 2


def test_give_or_punish_not_both():
    state = DONOR.initial_state({"strategy_phase": False, "punishment": True}, ["A", "B"], 0)
    first, _ = two(state)
    clean, reason = DONOR.validate_action(state, first, {"give_fraction": 0.2, "punish_fraction": 0.1})
    assert clean is None and reason == "give or punish, not both: set give_fraction or punish_fraction to 0"
    assert DONOR.validate_action(state, first, {"give_fraction": 0.0, "punish_fraction": 0.5})[1] is None
    without = DONOR.initial_state({"strategy_phase": False}, ["A", "B"], 0)
    assert DONOR.validate_action(without, first, {"give_fraction": 0.7, "punish_fraction": 0.5}) == (
        {"give_fraction": 0.7}, None)


def test_generation_selection_keeps_the_top_half():
    params = {"generations": 2, "rounds_per_generation": 2}
    state = DONOR.initial_state(params, ["A", "B", "C", "D"], 0)
    a0, a1, b0, b1 = state["order"]
    assert DONOR.next_step(state)["phase"] == "reflect"
    for name in ["A", "B", "C", "D"]:
        state = DONOR.record_reflection(state, name, f"strategy of {name}")
    # Round 1: a0 -> b0, a1 -> b1. Round 2: b1 -> a0, b0 -> a1.
    state, _ = give(state, {a0: 1.0, a1: 0.0})
    state, report = give(state, {b1: 0.0, b0: 0.5})
    # a0 0 + 0, a1 10 + 2 * 15 = 40, b0 30 - 15 = 15, b1 10.
    result = report["generation_result"]
    assert result["resources"] == {a0: 0.0, a1: 40.0, b0: 15.0, b1: 10.0}
    roles = ["A", "B", "C", "D"]
    ranked = sorted(roles, key=lambda n: (-result["resources"][n], roles.index(n)))
    assert result["survivors"] == ranked[:2] == [a1, b0] and result["replaced"] == ranked[2:]
    assert result["mean_resources"] == pytest.approx(16.25)
    assert state["generation"] == 2
    assert state["resources"] == {n: 10.0 for n in "ABCD"}
    assert state["advice"] == [f"strategy of {a1}", f"strategy of {b0}"]
    assert state["agents"][a0] == {"id": f"g2-{a0}", "born": 2, "strategy": ""}
    assert state["agents"][a1]["strategy"] == f"strategy of {a1}"
    assert state["traces"] == {n: [] for n in roles}  # a new generation starts with no reputations
    assert state["order"] == shuffled(roles, 0, 2)
    step = DONOR.next_step(state)
    assert step["phase"] == "reflect" and step["actors"] == sorted(ranked[2:], key=roles.index)
    assert f"strategy of {a1}" in DONOR.observation(state, a0)
    assert DONOR.metrics(state)["mean_final_resources_per_generation"] == [16.25]


def test_recipient_trace_is_the_chain_three_steps_back():
    state = DONOR.initial_state({"strategy_phase": False, "rounds_per_generation": 6}, ["A", "B", "C", "D"], 5)
    a0, a1, b0, b1 = state["order"]
    # Rounds cycle through the 4-round schedule: 5 and 6 repeat rounds 1 and 2.
    fractions = {1: {a0: 0.1, a1: 0.2}, 2: {b1: 0.3, b0: 0.4}, 3: {b0: 0.5, b1: 0.6}, 4: {a0: 0.7, a1: 0.8},
                 5: {a0: 0.9, a1: 0.0}}
    for round_no in range(1, 6):
        state, _ = give(state, fractions[round_no])
    assert DONOR.pairs(state) == [[b1, a0], [b0, a1]]
    # b1 now gives to a0. a0's chain: a0 gave 90% to b0 in round 5, whose last act was giving 50% to a0 in
    # round 3, whose act before that was giving 10% to b0 in round 1.
    chain = [(t["round"], t["donor"], t["recipient"], t["give_fraction"]) for t in DONOR.trace_of(state, a0)]
    assert chain == [(5, a0, b0, 0.9), (3, b0, a0, 0.5), (1, a0, b0, 0.1)]
    text = DONOR.observation(state, b1)
    assert f"in round 5, {a0} gave 90%" in text and f"in round 3, {b0} gave 50%" in text
    assert f"in round 1, {a0} gave 10%" in text and "round 4" not in text
    # The reciprocal strategy answers the recipient's own latest act.
    assert DONOR.scripted_action(state, b1, "reciprocal", random.Random(0)) == {"give_fraction": 0.9}
    assert DONOR.scripted_action(state, b1, "generous", random.Random(0)) == {"give_fraction": 0.6}
    assert DONOR.scripted_action(state, b1, "stingy", random.Random(0)) == {"give_fraction": 0.0}
    short = DONOR.initial_state({"strategy_phase": False, "trace_length": 1}, ["A", "B"], 0)
    first, second = two(short)
    short, _ = give(short, {first: 0.5})
    short, _ = give(short, {second: 0.5})
    assert [t["donor"] for t in DONOR.trace_of(short, second)] == [second]


def test_odd_team_is_refused():
    with pytest.raises(ValueError, match="even number"):
        DONOR.initial_state({}, ["A", "B", "C"], 0)


def test_chart_has_mean_resources_per_round():
    state, _ = scenarios.play_scripted(DONOR, [f"A{i}" for i in range(4)], "generous", seed=1,
                                       params={"generations": 2, "rounds_per_generation": 3})
    chart = DONOR.chart(state)
    assert chart["x"] == [1, 2, 3, 4, 5, 6]
    assert DONOR.metrics(state)["donation_fraction_per_round"] == [0.6] * 6
