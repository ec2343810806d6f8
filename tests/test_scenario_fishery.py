import json
import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.fishery import equality, harvest, harvest_proportional

FISHERY = scenarios.get("fishery")
FIVE = ["John", "Kate", "Jack", "Emma", "Luke"]


def month(state, catches, seed=0):
    """One month: the harvest, then every talk and reflect step with fixed text."""
    state, report = FISHERY.apply(state, dict(zip(state["roles"], ({"catch": c} for c in catches), strict=True)),
                                  random.Random(seed))
    while (step := FISHERY.next_step(state)) is not None and step["phase"] != "act":
        for name in step["actors"]:
            if step["phase"] == "talk":
                state = FISHERY.record_talk(state, name, f"{name} speaks")
            else:
                state = FISHERY.record_reflection(state, name, f"{name} reflects")
    return json.loads(json.dumps(state)), report


def test_handout_when_demand_exceeds_the_stock():
    wanted = {"a": 8, "b": 5, "c": 0, "d": 20}
    caught = harvest(20, wanted, list(wanted), random.Random(4))
    assert sum(caught.values()) == 20
    assert all(caught[n] <= wanted[n] for n in wanted)
    assert caught["c"] == 0
    assert caught == harvest(20, wanted, list(wanted), random.Random(4))
    assert harvest(20, {"a": 5, "b": 5}, ["a", "b"], random.Random(4)) == {"a": 5, "b": 5}


def test_apply_hands_out_the_whole_stock_deterministically():
    state = FISHERY.initial_state({"initial_stock": 30}, ["A", "B", "C"], 0)
    actions = {"A": {"catch": 25}, "B": {"catch": 10}, "C": {"catch": 2}}
    first, report = FISHERY.apply(state, actions, random.Random(11))
    again, _ = FISHERY.apply(state, actions, random.Random(11))
    assert first == again
    assert report["total"] == 30 and report["remaining"] == 0
    assert report["caught"]["A"] <= 25 and report["caught"]["B"] <= 10 and report["caught"]["C"] <= 2
    assert first["collapsed"] and FISHERY.next_step(first) is None


def test_collapse_in_month_three():
    state = FISHERY.initial_state({}, FIVE, 0)
    # Month 1: 5 x 10 = 50 caught, 50 left, doubles to 100.
    state, report = month(state, [10] * 5)
    assert (report["remaining"], report["stock_after"]) == (50, 100)
    # Month 2: 5 x 18 = 90 caught, 10 left, doubles to 20.
    state, report = month(state, [18] * 5)
    assert (report["remaining"], report["stock_after"]) == (10, 20)
    # Month 3: 5 x 4 = 20 caught, 0 left: below 5, collapse.
    state, report = month(state, [4] * 5)
    assert report["collapsed"] and state["stock"] == 0
    assert FISHERY.next_step(state) is None
    assert "collapsed in month 3" in FISHERY.end_reason(state)
    m = FISHERY.metrics(state)
    assert m["survival_time"] == 3 and m["survived"] is False
    assert m["gains"] == {n: 32 for n in FIVE}
    # Total gain 50 + 90 + 20 = 160; T * f0 = 12 * 50 = 600; 1 - (600 - 160) / 600 = 160 / 600.
    assert m["efficiency"] == pytest.approx(160 / 600)
    # Sustainable shares: month 1 (100 // 2) // 5 = 10 (10 is not above), month 2 again 10 (18 is),
    # month 3 (20 // 2) // 5 = 2 (4 is): 10 of 15 decisions over.
    assert m["over_usage"] == pytest.approx(10 / 15)
    assert m["equality"] == 1.0
    chart = FISHERY.chart(state)
    assert chart["x"] == [1, 2, 3]
    assert chart["series"][0]["values"] == [100, 100, 20] and chart["series"][1]["values"] == [50, 90, 20]


def test_lake_doubles_capped_at_capacity():
    state = FISHERY.initial_state({"initial_stock": 30}, ["A", "B"], 0)
    state, report = month(state, [0, 0])
    assert report["stock_after"] == 60
    state, report = month(state, [3, 2])
    assert (report["remaining"], report["stock_after"]) == (55, 100)
    state, report = month(state, [10, 10])
    assert (report["remaining"], report["stock_after"]) == (80, 100)


def test_exactly_the_threshold_left_survives():
    state = FISHERY.initial_state({}, ["A", "B"], 0)
    state, report = month(state, [50, 45])
    assert report["remaining"] == 5 and not report["collapsed"] and report["stock_after"] == 10


def test_equality_and_over_usage_of_a_known_table():
    # Gains 10, 20, 30, 40: sum over ordered pairs of |Ri - Rj| = 2 * (10+20+30+10+20+10) = 200;
    # 2 n sum R = 2 * 4 * 100 = 800; equality = 1 - 200/800 = 0.75.
    assert equality([10, 20, 30, 40]) == pytest.approx(0.75)
    assert equality([0, 0, 0]) == 1.0
    state = FISHERY.initial_state({}, ["A", "B", "C", "D"], 0)
    state, _ = month(state, [10, 20, 30, 40])
    m = FISHERY.metrics(state)
    assert m["equality"] == pytest.approx(0.75)
    # Share (100 // 2) // 4 = 12: 20, 30 and 40 are above it.
    assert m["over_usage"] == pytest.approx(3 / 4)
    assert m["efficiency"] == pytest.approx(100 / 600)
    assert m["survival_time"] == 1


def test_month_flow_talk_then_reflect_then_next_month():
    state = FISHERY.initial_state({"max_utterances": 3}, ["A", "B"], 0)
    state, _ = FISHERY.apply(state, {"A": {"catch": 5}, "B": {"catch": 5}}, random.Random(0))
    speakers = []
    while (step := FISHERY.next_step(state))["phase"] == "talk":
        speakers.append(step["actors"][0])
        state = FISHERY.record_talk(state, step["actors"][0], "let's keep it at 25 each")
    assert speakers == ["A", "B", "A"]
    assert step == {"phase": "reflect", "actors": ["A", "B"], "simultaneous": True, "round": 1}
    assert "let's keep it at 25 each" in FISHERY.observation(state, "B")
    state = FISHERY.record_reflection(state, "B", "I trust A")
    assert FISHERY.next_step(state)["actors"] == ["A"]
    assert "I trust A" in FISHERY.observation(state, "B") and "I trust A" not in FISHERY.observation(state, "A")
    state = FISHERY.record_reflection(state, "A", "fine")
    assert FISHERY.next_step(state) == {"phase": "act", "actors": ["A", "B"], "simultaneous": True, "round": 2}


def test_everyone_passing_ends_the_discussion_early():
    state = FISHERY.initial_state({}, ["A", "B"], 0)
    state, _ = FISHERY.apply(state, {"A": {"catch": 5}, "B": {"catch": 5}}, random.Random(0))
    state = FISHERY.record_talk(state, "A", "hello")
    state = FISHERY.record_talk(state, "B", "")
    assert FISHERY.next_step(state)["phase"] == "talk"
    state = FISHERY.record_talk(state, "A", "  ")
    assert FISHERY.next_step(state)["phase"] == "reflect"


def test_last_month_ends_after_the_harvest():
    state = FISHERY.initial_state({"months": 1}, ["A", "B"], 0)
    state, _ = FISHERY.apply(state, {"A": {"catch": 10}, "B": {"catch": 10}}, random.Random(0))
    assert FISHERY.next_step(state) is None
    m = FISHERY.metrics(state)
    assert m["survived"] and m["survival_time"] == 1
    # T = 1 month, f0 = 50: 20 / 50.
    assert m["efficiency"] == pytest.approx(0.4)


def test_scripted_strategies():
    state = FISHERY.initial_state({}, FIVE, 0)
    rng = random.Random(0)
    assert FISHERY.scripted_action(state, "John", "sustainable", rng) == {"catch": 10}
    assert FISHERY.scripted_action(state, "John", "greedy", rng) == {"catch": 40}
    mixed = [FISHERY.scripted_action(state, n, "mixed", rng)["catch"] for n in FIVE]
    assert mixed == [40, 10, 40, 10, 40]
    with pytest.raises(ValueError, match="unknown strategy"):
        FISHERY.scripted_action(state, "John", "polite", rng)


def test_catch_above_the_stock_is_accepted_and_rationed():
    state = FISHERY.initial_state({"initial_stock": 12}, ["A", "B"], 0)
    assert FISHERY.action_schema(state, "A")["properties"]["catch"]["maximum"] == 100
    assert FISHERY.validate_action(state, "A", {"catch": 30}) == ({"catch": 30}, None)
    assert FISHERY.validate_action(state, "A", {"catch": 101})[1] == "action.catch: 101 is above the maximum 100"
    after, report = FISHERY.apply(state, {"A": {"catch": 30}, "B": {"catch": 6}}, random.Random(2))
    assert report["requested"] == {"A": 30, "B": 6} and report["total"] == 12 and report.get("defaulted") is None
    assert report["caught"]["B"] <= 6 and after["collapsed"]


def test_proportional_rationing_by_hand():
    # 20 tons, requests 30 + 10 + 0: floor(20 * 30 / 40) = 15, floor(20 * 10 / 40) = 5; nothing left over.
    assert harvest_proportional(20, {"a": 30, "b": 10, "c": 0}, ["a", "b", "c"], random.Random(0)) == {
        "a": 15, "b": 5, "c": 0}
    # 10 tons, requests 7 + 7 + 7: 70 / 21 = 3.33 each -> 3 each, one ton left for one of the rounded-down.
    caught = harvest_proportional(10, {"a": 7, "b": 7, "c": 7}, ["a", "b", "c"], random.Random(3))
    assert sorted(caught.values()) == [3, 3, 4]
    assert caught == harvest_proportional(10, {"a": 7, "b": 7, "c": 7}, ["a", "b", "c"], random.Random(3))
    state = FISHERY.initial_state({"initial_stock": 20, "rationing": "proportional"}, ["A", "B"], 0)
    _, report = FISHERY.apply(state, {"A": {"catch": 30}, "B": {"catch": 10}}, random.Random(0))
    assert report["caught"] == {"A": 15, "B": 5}
    assert "in proportion" in FISHERY.rules_text(state)


def test_collapse_rule_is_hidden_unless_a_variant_tells_it():
    hidden = FISHERY.initial_state({}, FIVE, 0)
    told = FISHERY.initial_state({"tell_collapse_rule": True}, FIVE, 0)
    assert "collapse" not in FISHERY.rules_text(hidden) and "fewer than 5 tons" not in FISHERY.rules_text(hidden)
    assert "fewer than 5 tons are left the lake collapses" in FISHERY.rules_text(told)


def test_universalization_tells_the_sustainable_share():
    plain = FISHERY.initial_state({}, FIVE, 0)
    universal = FISHERY.initial_state({"universalization": True}, FIVE, 0)
    sentence = "if everyone fishes more than 10 tons, the lake population will shrink next month"
    assert sentence in FISHERY.observation(universal, "John")
    assert "if everyone fishes" not in FISHERY.observation(plain, "John")
    # After a month leaving 60 tons (regrown to 100 at most): (stock // 2) // 5 of the new stock.
    universal, _ = month(universal, [8] * 5)
    assert universal["stock"] == 100 and sentence in FISHERY.observation(universal, "Kate")


def test_over_usage_counts_requests_above_the_sustainability_threshold():
    state = FISHERY.initial_state({}, FIVE, 0)
    # Threshold (100 // 2) // 5 = 10: one of five asks 11 (over), one asks exactly 10 (not over).
    state, _ = month(state, [11, 10, 5, 5, 5])
    # 64 left, doubles to 100; threshold 10 again: two ask 20 (rationing does not matter, the request counts).
    state, _ = month(state, [20, 20, 0, 0, 0])
    assert FISHERY.metrics(state)["over_usage"] == pytest.approx(3 / 10)


def test_open_discussion_starts_from_the_mayor_and_speakers_pick_the_next():
    state = FISHERY.initial_state({"max_utterances": 4}, ["Ann", "Bo", "Cy"], 0)
    state, _ = FISHERY.apply(state, {"Ann": {"catch": 5}, "Bo": {"catch": 20}, "Cy": {"catch": 3}}, random.Random(0))
    first = state["transcript"][0]
    assert first["role"] == "Mayor" and "Ann caught 5 tons, Bo caught 20 tons, Cy caught 3 tons" in first["text"]
    assert FISHERY.next_step(state)["actors"] == ["Ann"]
    assert "Mayor: Monthly fishing report" in FISHERY.observation(state, "Cy")
    state = FISHERY.record_talk(state, "Ann", "Bo took a lot. Cy, what do you think? Let's keep to 8 tons.")
    assert FISHERY.next_step(state)["actors"] == ["Cy"]  # the last fisher named
    state = FISHERY.record_talk(state, "Cy", "Agreed, 8 tons. Next speaker: Ann")
    assert FISHERY.next_step(state)["actors"] == ["Ann"]  # an explicit pick wins
    state = FISHERY.record_talk(state, "Ann", "Good.")
    assert FISHERY.next_step(state)["actors"] == ["Bo"]  # nobody named: who has spoken least
    state = FISHERY.record_talk(state, "Bo", "Fine, 6 tons then.")
    assert FISHERY.next_step(state)["phase"] == "reflect"
    assert state["agreed_limit"] == {"month": 1, "tons": 6}
    for name in ["Ann", "Bo", "Cy"]:
        state = FISHERY.record_reflection(state, name, "ok")
    assert "At the meeting in month 1 the fishers settled on 6 tons." in FISHERY.observation(state, "Bo")


def test_fixed_order_is_a_named_variant():
    state = FISHERY.initial_state({"max_utterances": 3, "discussion": "fixed"}, ["Ann", "Bo", "Cy"], 0)
    state, _ = FISHERY.apply(state, {n: {"catch": 5} for n in ["Ann", "Bo", "Cy"]}, random.Random(0))
    assert state["transcript"] == []
    speakers = []
    while (step := FISHERY.next_step(state))["phase"] == "talk":
        speakers.append(step["actors"][0])
        state = FISHERY.record_talk(state, step["actors"][0], "Cy should speak, 5 tons")
    assert speakers == ["Ann", "Bo", "Cy"]
    with pytest.raises(ValueError, match="'discussion' must be one of open, fixed"):
        FISHERY.params({"discussion": "loud"})


def test_params_validation():
    with pytest.raises(ValueError, match="'initial_stock' must be between 0 and 50"):
        FISHERY.params({"capacity": 50, "initial_stock": 80})
