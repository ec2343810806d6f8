import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.maze import generate_maze, shortest_path

MAZE = scenarios.get("maze")
PAIR = ["A", "B"]

OPEN_GRID = [
    "......",
    "...#..",
    "......",
    "......",
    "......",
    "......",
]


def walls_of(grid):
    return {(r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch == "#"}


def custom(params=None, pos=(2, 2), goal=(0, 5)):
    """A pair state on a hand-made map (one wall at row 1, column 3)."""
    state = MAZE.initial_state(params or {}, PAIR, 0)
    state.update({"grid": OPEN_GRID, "pos": list(pos), "goal": list(goal), "visited": [list(pos)]})
    return state


def turn(state, a, b):
    return MAZE.apply(state, {"A": {"move": a}, "B": {"move": b}}, random.Random(0))


@pytest.mark.parametrize("seed", range(20))
def test_generation_constraints(seed):
    state = MAZE.initial_state({}, PAIR, seed)
    grid = state["grid"]
    assert len(grid) == 6 and all(len(row) == 6 for row in grid)
    walls = walls_of(grid)
    assert len(walls) == 11  # round(0.3 * 36)
    assert state["start"] != state["goal"]
    for r, c in (state["start"], state["goal"]):
        assert grid[r][c] == "."
    path = shortest_path(6, lambda r, c: (r, c) in walls, state["start"], state["goal"])
    assert 7 <= len(path) == state["optimal"] <= 9
    assert MAZE.initial_state({}, PAIR, seed)["grid"] == grid


def test_different_seeds_give_different_mazes():
    assert len({tuple(generate_maze(s, 6, 0.3, 7, 9)["grid"]) for s in range(20)}) == 20


def test_impossible_constraints_fail_loudly():
    with pytest.raises(ValueError, match="no 3x3 maze"):
        MAZE.initial_state({"size": 3, "min_path": 8, "max_path": 9}, PAIR, 0)


def test_move_needs_agreement():
    state = custom()
    state, report = turn(state, "N", "E")
    assert report["outcome"] == "disagree" and state["pos"] == [2, 2]
    state, report = turn(state, "W", "W")
    assert report["outcome"] == "moved" and state["pos"] == [2, 1]
    m = MAZE.metrics(state)
    assert (m["disagreements"], m["moves"], m["turns"], m["bumps"]) == (1, 1, 2, 0)


def test_bumps_into_walls_and_edges_are_counted():
    state = custom(pos=(1, 2))
    state, report = turn(state, "E", "E")
    assert report["outcome"] == "bump (wall)" and state["pos"] == [1, 2]
    assert state["known_walls"] == [[1, 3]]
    assert MAZE.knowledge(state, "A")[1][3] == "#"  # A could not see column 3; now both know the wall
    state, _ = turn(state, "N", "N")
    state, report = turn(state, "N", "N")
    assert report["outcome"] == "bump (edge)" and state["pos"] == [0, 2]
    assert MAZE.metrics(state)["bumps"] == 2


def test_reaching_the_goal_ends_the_game():
    state = custom(pos=(0, 4), goal=(0, 5))
    state, report = turn(state, "E", "E")
    assert state["solved"] and MAZE.next_step(state) is None
    assert MAZE.end_reason(state).startswith("reached the goal in 1 turns")
    assert MAZE.metrics(state)["solved"] is True


def test_out_of_turns():
    state = custom({"max_moves": 2})
    state, _ = turn(state, "N", "S")
    state, _ = turn(state, "N", "S")
    assert MAZE.next_step(state) is None and "out of turns" in MAZE.end_reason(state)
    assert MAZE.metrics(state)["solved"] is False


def test_partial_views_differ_and_solo_sees_all():
    state = MAZE.initial_state({}, PAIR, 5)
    a, b = MAZE.knowledge(state, "A"), MAZE.knowledge(state, "B")
    assert a != b
    for r in range(6):
        for c in range(6):
            if [r, c] in (state["goal"], state["start"]):
                continue
            assert (a[r][c] == "?") == (c >= 3)
            assert (b[r][c] == "?") == (c < 3)
    solo = MAZE.initial_state({"mode": "solo"}, PAIR, 5)
    assert MAZE.knowledge(solo, "A") == solo["grid"]
    assert MAZE.next_step(solo)["actors"] == ["A"]
    assert "@" in MAZE.observation(state, "A") and "G" in MAZE.observation(state, "B")


def test_relay_leader_first_then_follower_sees_the_proposal():
    state = custom({"relay": True})
    assert MAZE.next_step(state) == {"phase": "act", "actors": ["A"], "simultaneous": False, "round": 1}
    state, report = MAZE.apply(state, {"A": {"move": "W", "message": "west is clear"}}, random.Random(0))
    assert report["proposal"] == "W" and state["pos"] == [2, 2]
    assert MAZE.next_step(state)["actors"] == ["B"]
    seen = MAZE.observation(state, "B")
    assert 'A proposes to move W: "west is clear"' in seen
    assert MAZE.scripted_action(state, "B", "follow_known_path", random.Random(0)) == {"move": "W"}
    state, report = MAZE.apply(state, {"B": {"move": "W"}}, random.Random(0))
    assert report["proposals"] == {"A": "W", "B": "W"} and state["pos"] == [2, 1]
    assert MAZE.next_step(state)["actors"] == ["A"]


def test_default_action_is_an_abstention():
    state = custom()
    state, report = MAZE.apply(state, {"A": {"move": "W"}}, random.Random(0))
    assert report["defaulted"] == ["B"] and report["outcome"] == "abstain" and state["pos"] == [2, 2]
    assert MAZE.metrics(state)["abstentions"] == 1


@pytest.mark.parametrize("seed", range(20))
def test_solo_known_path_is_optimal(seed):
    state, _ = scenarios.play_scripted(MAZE, PAIR, "follow_known_path", seed=seed, params={"mode": "solo"})
    m = MAZE.metrics(state)
    assert m["solved"] and m["moves"] == m["turns"] == m["optimal_length"] and m["bumps"] == 0


def test_talk_phase_before_each_turn():
    state = custom({"talk_per_turn": 2})
    assert MAZE.next_step(state) == {"phase": "talk", "actors": ["A"], "round": 1}
    state = MAZE.record_talk(state, "A", "wall at (1,3)?")
    state = MAZE.record_talk(state, "B", "yes, avoid row 1")
    assert MAZE.next_step(state)["phase"] == "act"
    assert "yes, avoid row 1" in MAZE.observation(state, "A")
