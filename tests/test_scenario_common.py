"""The scenario interface as a whole: registry, schema validator, params, and a
scripted run of every scenario to its end with a JSON round trip at every step."""

import copy
import json
import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.base import REGISTRY, Scenario, register, validate_json

KEYS = ["design_review", "donor", "fishery", "maze", "public_goods", "ranking"]


def roundtrip(value):
    return json.loads(json.dumps(value))


def drive(scenario, roles, strategy_of, seed=0, params=None):
    """The engine loop, with scripted behaviour only."""
    state = scenario.initial_state(scenario.params(params), roles, seed)
    assert roundtrip(state) == state
    choose = random.Random(seed)
    reports = []
    for count in range(5000):
        step = scenario.next_step(state)
        if step is None:
            return state, reports
        assert step["phase"] in {"act", "talk", "reflect"} and step["actors"]
        assert roundtrip(step) == step
        for name in step["actors"]:
            assert isinstance(scenario.observation(state, name), str)
        frozen = copy.deepcopy(state)
        if step["phase"] == "act":
            actions = {}
            for name in step["actors"]:
                action = scenario.scripted_action(state, name, strategy_of(name), choose)
                clean, reason = scenario.validate_action(state, name, action)
                assert reason is None, reason
                actions[name] = clean
            new, report = scenario.apply(state, actions, random.Random(f"{seed}:{count}"))
            assert "defaulted" not in report
            assert roundtrip(report) == report
            reports.append(report)
        elif step["phase"] == "talk":
            name = step["actors"][0]
            new = scenario.record_talk(state, name, scenario.scripted_talk(state, name, strategy_of(name), choose))
        else:
            texts = {n: scenario.scripted_talk(state, n, strategy_of(n), choose) for n in step["actors"]}
            new = state
            for name, text in texts.items():
                new = scenario.record_reflection(new, name, text)
        assert state == frozen, "the input state must not be mutated"
        assert roundtrip(new) == new
        state = roundtrip(new)
    raise AssertionError("the scenario did not end")


def check_results(scenario, state):
    metrics = scenario.metrics(state)
    assert roundtrip(metrics) == metrics
    chart = scenario.chart(state)
    assert roundtrip(chart) == chart
    assert chart["type"] in {"line", "bar"} and chart["title"]
    assert chart["series"]
    for series in chart["series"]:
        assert series["name"] and len(series["values"]) == len(chart["x"])
    assert scenario.end_reason(state)
    return metrics


def names(scenario):
    return [r["name"] for r in scenario.default_roles]


RUNS = [
    ("fishery", {}, lambda n, i: "sustainable"),
    ("fishery", {}, lambda n, i: "greedy"),
    ("fishery", {}, lambda n, i: "mixed"),
    ("fishery", {"max_utterances": 0, "reflect": False}, lambda n, i: "sustainable"),
    ("donor", {}, lambda n, i: ["generous", "reciprocal", "stingy"][i % 3]),
    ("donor", {"punishment": True, "generations": 2}, lambda n, i: ["generous", "reciprocal", "stingy"][i % 3]),
    ("donor", {"strategy_phase": False, "generations": 2}, lambda n, i: "reciprocal"),
    ("public_goods", {}, lambda n, i: ["cooperator", "free_rider", "conditional"][i % 3]),
    ("public_goods", {"mode": "simultaneous"}, lambda n, i: ["cooperator", "free_rider", "conditional"][i % 3]),
    ("public_goods", {"shuffle_order": True}, lambda n, i: "conditional"),
    ("maze", {}, lambda n, i: "follow_known_path"),
    ("maze", {"relay": True}, lambda n, i: "follow_known_path"),
    ("maze", {"talk_per_turn": 2}, lambda n, i: "follow_known_path"),
    ("maze", {"mode": "solo"}, lambda n, i: "follow_known_path"),
    ("maze", {}, lambda n, i: "random"),
    ("ranking", {}, lambda n, i: ["average", "anchored", "anchored", "expert_truthful"][i]),
    ("ranking", {"task": "desert"}, lambda n, i: ["follow_expert", "anchored", "anchored", "anchored"][i]),
    ("ranking", {"discussion_rounds": 0}, lambda n, i: "anchored"),
    ("design_review", {}, lambda n, i: "templated"),
    ("design_review", {"talk_rounds": 0}, lambda n, i: "templated"),
]


@pytest.mark.parametrize(("key", "params", "pick"), RUNS)
def test_scripted_run_reaches_the_end_with_json_state(key, params, pick):
    scenario = scenarios.get(key)
    roles = names(scenario)
    state, reports = drive(scenario, roles, lambda n: pick(n, roles.index(n)), seed=7, params=params)
    assert scenario.next_step(state) is None
    assert reports
    check_results(scenario, state)
    again, _ = drive(scenario, roles, lambda n: pick(n, roles.index(n)), seed=7, params=params)
    assert again == state, "same seed, same run"


def test_registry_lists_every_scenario():
    assert sorted(REGISTRY) == KEYS
    assert [s.key for s in scenarios.all_scenarios()] == KEYS
    for scenario in scenarios.all_scenarios():
        assert isinstance(scenario, Scenario)
        assert scenario.title and scenario.paper and scenario.strategies and scenario.default_roles
        assert set(scenario.param_help) == set(scenario.default_params)
        assert roundtrip(scenario.describe()) == scenario.describe()
        assert scenario.params({}) == scenario.default_params


def test_get_unknown_key_lists_known_ones():
    with pytest.raises(KeyError) as excinfo:
        scenarios.get("chess")
    message = str(excinfo.value)
    assert "chess" in message and "fishery" in message and "maze" in message


def test_register_refuses_a_duplicate_key():
    class Impostor(Scenario):
        key = "fishery"

    with pytest.raises(ValueError, match="already registered"):
        register(Impostor)
    assert REGISTRY["fishery"].__name__ == "Fishery"


def test_params_reject_unknown_and_bad_values():
    fishery = scenarios.get("fishery")
    with pytest.raises(ValueError, match="unknown parameter.*lakes"):
        fishery.params({"lakes": 2})
    with pytest.raises(ValueError, match="'months' must be a whole number"):
        fishery.params({"months": "soon"})
    with pytest.raises(ValueError, match="'months' must be between 1 and 120"):
        fishery.params({"months": 0})
    with pytest.raises(ValueError, match="'reflect' must be true or false"):
        fishery.params({"reflect": 3})
    assert fishery.params({"months": "6", "reflect": "false"})["months"] == 6
    assert fishery.params({"reflect": "false"})["reflect"] is False
    with pytest.raises(ValueError, match="'mode' must be one of sequential, simultaneous"):
        scenarios.get("public_goods").params({"mode": "random"})
    with pytest.raises(ValueError, match="parameters must be an object"):
        fishery.params([1, 2])


def test_initial_state_checks_roles():
    fishery = scenarios.get("fishery")
    with pytest.raises(ValueError, match="at least 2 roles"):
        fishery.initial_state({}, ["Solo"], 0)
    with pytest.raises(ValueError, match="unique"):
        fishery.initial_state({}, ["A", "A"], 0)


SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer", "minimum": 0, "maximum": 10},
        "x": {"type": "number", "minimum": 0, "maximum": 1},
        "move": {"type": "string", "enum": ["N", "S"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": True},
        "ok": {"type": "boolean"},
    },
    "required": ["n"],
}


@pytest.mark.parametrize(("value", "reason"), [
    (None, "action: expected object, got null"),
    ([], "action: expected object, got array []"),
    ({}, "action: missing required field 'n'"),
    ({"n": "3"}, 'action.n: expected integer, got string "3"'),
    ({"n": 2.5}, "action.n: expected integer, got number 2.5"),
    ({"n": True}, "action.n: expected integer, got boolean true"),
    ({"n": 11}, "action.n: 11 is above the maximum 10"),
    ({"n": -1}, "action.n: -1 is below the minimum 0"),
    ({"n": 1, "x": "half"}, 'action.x: expected number, got string "half"'),
    ({"n": 1, "x": 1.5}, "action.x: 1.5 is above the maximum 1"),
    ({"n": 1, "move": "up"}, 'action.move: "up" is not one of "N", "S"'),
    ({"n": 1, "tags": []}, "action.tags: needs at least 1 items, got 0"),
    ({"n": 1, "tags": ["a", "b", "c", "d"]}, "action.tags: allows at most 3 items, got 4"),
    ({"n": 1, "tags": ["a", "a"]}, 'action.tags[1]: "a" appears more than once'),
    ({"n": 1, "tags": ["a", 2]}, "action.tags[1]: expected string, got integer 2"),
    ({"n": 1, "ok": "yes"}, 'action.ok: expected boolean, got string "yes"'),
])
def test_validator_gives_readable_reasons(value, reason):
    assert validate_json(value, SCHEMA) == (None, reason)


def test_validator_cleans_values():
    clean, reason = validate_json({"n": 3.0, "x": 1, "reasoning": "because", "tags": ["a"]}, SCHEMA)
    assert reason is None
    assert clean == {"n": 3, "x": 1, "tags": ["a"]}
    assert isinstance(clean["n"], int)
    strict = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    assert validate_json({"a": "x", "b": 1}, strict) == (None, "action: unexpected field 'b' (allowed: a)")
    assert validate_json(float("nan"), {"type": "number"})[1] == "action: expected number, got number NaN"


BAD_ACTIONS = {
    "fishery": [("not a dict", "expected object"), ({}, "missing required field 'catch'"),
                ({"catch": 101}, "above the maximum 100"), ({"catch": -2}, "below the minimum 0"),
                ({"catch": "ten"}, "expected integer")],
    "donor": [({"give_fraction": 1.2}, "above the maximum 1"), ({"give": 0.5}, "missing required field 'give_fraction'"),
              ({"give_fraction": "all"}, "expected number")],
    "public_goods": [({"contribution": 11}, "above the maximum 10"), ({"contribution": None}, "expected number")],
    "maze": [({"move": "UP"}, "is not one of"), ({"move": "N", "message": 5}, "expected string"),
             ({"move": "STAY"}, "is not one of")],
    "ranking": [({"ranking": ["Box of matches"]}, "needs at least 15 items"),
                ({"ranking": "oxygen first"}, "expected array")],
    "design_review": [({"proposal": "x"}, "missing required field 'sections'"),
                      ({"proposal": "x", "sections": {"Budget": "y"}}, "unexpected field 'Budget'")],
}


@pytest.mark.parametrize("key", KEYS)
def test_validate_action_rejects_bad_actions(key):
    scenario = scenarios.get(key)
    roles = names(scenario)
    state = scenario.initial_state({}, roles, 1)
    while (step := scenario.next_step(state))["phase"] != "act":
        name = step["actors"][0]
        if step["phase"] == "talk":
            state = scenario.record_talk(state, name, "hello")
        else:
            state = scenario.record_reflection(state, name, "a plan")
    actor = step["actors"][0]
    for action, fragment in BAD_ACTIONS[key]:
        clean, reason = scenario.validate_action(state, actor, action)
        assert clean is None and fragment in reason, (action, reason)
    bystander = next((n for n in roles if n not in step["actors"]), None)
    if bystander:
        clean, reason = scenario.validate_action(state, bystander, scenario.default_action(state, actor))
        assert clean is None and "not expected to act now" in reason


@pytest.mark.parametrize("key", KEYS)
def test_apply_replaces_invalid_actions_with_the_default(key):
    scenario = scenarios.get(key)
    state = scenario.initial_state({}, names(scenario), 2)
    while (step := scenario.next_step(state))["phase"] != "act":
        name = step["actors"][0]
        state = (scenario.record_talk if step["phase"] == "talk" else scenario.record_reflection)(state, name, "")
    new, report = scenario.apply(state, {}, random.Random(0))
    assert report["defaulted"] == step["actors"]
    for name in step["actors"]:
        assert report["actions"][name] == scenario.default_action(state, name)
    assert roundtrip(new) == new


def test_steps_out_of_order_are_refused():
    fishery = scenarios.get("fishery")
    state = fishery.initial_state({}, names(fishery), 0)
    with pytest.raises(ValueError, match="the current step is act, not talk"):
        fishery.record_talk(state, "John", "hi")


def test_play_scripted_helper_matches_the_driver():
    fishery = scenarios.get("fishery")
    state, reports = scenarios.play_scripted(fishery, names(fishery), "sustainable", seed=3)
    assert fishery.metrics(state)["survived"] is True
    assert len(reports) == 12
