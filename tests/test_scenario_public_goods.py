import random

import pytest

from collab.engine import scenarios

PGG = scenarios.get("public_goods")
PLAYERS = ["P1", "P2", "P3", "P4"]


def test_payoffs_by_hand():
    state = PGG.initial_state({"mode": "simultaneous", "rounds": 1}, PLAYERS, 0)
    actions = {"P1": {"contribution": 10}, "P2": {"contribution": 5}, "P3": {"contribution": 0},
               "P4": {"contribution": 5}}
    state, report = PGG.apply(state, actions, random.Random(0))
    # Pot 20, 1.6 * 20 / 4 = 8 each: 10 - c + 8.
    assert report["result"]["payoffs"] == {"P1": 8.0, "P2": 13.0, "P3": 18.0, "P4": 13.0}
    assert PGG.next_step(state) is None
    m = PGG.metrics(state)
    assert m["total_welfare"] == 52.0
    assert m["contribution_rate"] == pytest.approx(0.5)
    assert m["free_riding_count"] == 1


def test_free_riding_threshold():
    state = PGG.initial_state({"mode": "simultaneous", "rounds": 1, "free_ride_fraction": 0.2}, PLAYERS, 0)
    actions = {n: {"contribution": c} for n, c in zip(PLAYERS, [2, 2.5, 0, 10], strict=True)}
    state, _ = PGG.apply(state, actions, random.Random(0))
    assert PGG.metrics(state)["free_riding_count"] == 2


def test_sequential_players_see_their_predecessors():
    state = PGG.initial_state({}, PLAYERS, 0)
    assert PGG.next_step(state) == {"phase": "act", "actors": ["P1"], "simultaneous": False, "round": 1}
    assert "You are first this round" in PGG.observation(state, "P1")
    state, _ = PGG.apply(state, {"P1": {"contribution": 10}}, random.Random(0))
    state, _ = PGG.apply(state, {"P2": {"contribution": 4}}, random.Random(0))
    assert PGG.next_step(state)["actors"] == ["P3"]
    seen = PGG.observation(state, "P3")
    assert "Contributions so far this round: P1 10, P2 4" in seen and "P4" not in seen.split("so far")[1]
    assert PGG.scripted_action(state, "P3", "conditional", random.Random(0)) == {"contribution": 7}
    assert PGG.validate_action(state, "P4", {"contribution": 1})[1] == "P4 is not expected to act now (waiting for P3)"


def test_simultaneous_players_do_not_see_this_round():
    state = PGG.initial_state({"mode": "simultaneous"}, PLAYERS, 0)
    assert PGG.next_step(state)["actors"] == PLAYERS
    assert "so far this round" not in PGG.observation(state, "P3")


def test_shuffled_order_is_seeded():
    orders = {tuple(PGG.initial_state({"shuffle_order": True}, PLAYERS, seed)["order"]) for seed in range(10)}
    assert len(orders) > 1
    assert PGG.initial_state({"shuffle_order": True}, PLAYERS, 3) == PGG.initial_state(
        {"shuffle_order": True}, PLAYERS, 3)


def test_chart_contributions_per_round():
    state, _ = scenarios.play_scripted(PGG, PLAYERS, {"P1": "cooperator", "P2": "free_rider", "P3": "conditional",
                                                      "P4": "conditional"}, params={"rounds": 3})
    chart = PGG.chart(state)
    assert chart["x"] == [1, 2, 3]
    assert chart["series"][0] == {"name": "P1", "values": [10.0, 10.0, 10.0]}
    assert chart["series"][1] == {"name": "P2", "values": [0, 0, 0]}
    # P3 follows P1 and P2 (mean 5), P4 follows P1..P3 (mean 5).
    assert chart["series"][2]["values"] == [5.0, 5.0, 5.0]


def play_round(params, contributions):
    state = PGG.initial_state({"rounds": 1, **params}, PLAYERS, 0)
    report = None
    for name in PLAYERS:
        state, report = PGG.apply(state, {name: {"contribution": contributions[name]}}, random.Random(0))
    return state, report["result"]


def test_standard_game_is_the_default_and_keeps_its_payoffs():
    assert PGG.params()["reward"] == "standard"
    _, result = play_round({}, {"P1": 10, "P2": 10, "P3": 0, "P4": 5})
    # Pot 25, 1.6 * 25 / 4 = 10 each.
    assert result["payoffs"] == {"P1": 10.0, "P2": 10.0, "P3": 20.0, "P4": 15.0}
    assert "bonuses" not in result


def test_mac_spgg_payoffs_by_hand():
    state, result = play_round({"reward": "mac_spgg"}, {"P1": 10, "P2": 10, "P3": 0, "P4": 5})
    # Share 10. Bonus 0.8 * c * (1 + before / 40): P1 8, P2 0.8 * 10 * 1.25 = 10, P3 0, P4 0.8 * 5 * 1.5 = 6.
    # Pot 25 >= B = 0.5 * 4 * 10 = 20: no penalty.
    assert result["bonuses"] == {"P1": 8.0, "P2": 10.0, "P3": 0.0, "P4": 6.0} and not result["penalised"]
    assert result["payoffs"] == {"P1": 18.0, "P2": 20.0, "P3": 20.0, "P4": 21.0}
    assert "cooperation bonus of 0.8" in PGG.rules_text(state)
    _, low = play_round({"reward": "mac_spgg"}, {n: 2 for n in PLAYERS})
    # Pot 8 < 20: everyone loses 5. Share 3.2; bonuses 1.6, 1.68, 1.76, 1.84.
    assert low["penalised"]
    assert low["payoffs"] == pytest.approx({"P1": 7.8, "P2": 7.88, "P3": 7.96, "P4": 8.04})


def test_contributing_everything_is_each_players_best_reply_only_under_mac_spgg():
    others = {"P1": 3, "P2": 7, "P3": 0, "P4": 10}
    for name in PLAYERS:
        for reward, contributing_pays in (("mac_spgg", True), ("standard", False)):
            full = play_round({"reward": reward}, {**others, name: 10})[1]["payoffs"][name]
            none = play_round({"reward": reward}, {**others, name: 0})[1]["payoffs"][name]
            assert (full > none) is contributing_pays, (name, reward)
