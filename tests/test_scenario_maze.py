import random

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.maze import generate_maze, grade_transcript, moves_in, shortest_path

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


# --- free conversation and the grader (The Collaboration Gap) --------------------------

def said(*lines):
    return [{"round": i + 1, "role": role, "text": text} for i, (role, text) in enumerate(lines)]


def test_moves_named_in_free_text():
    assert moves_in("Let's go north, then 2 east and finally down.") == ["N", "E", "E", "S"]
    assert moves_in("Path: N, N, E, 3x W") == ["N", "N", "E", "W", "W", "W"]
    assert moves_in("I think we should go up twice? no, left") == ["N", "W"]
    assert moves_in("a wall at e5, as i see it") == []  # lone lower-case letters are not moves
    assert moves_in("nothing here") == []


def test_grader_takes_the_last_accepted_proposal():
    transcript = said(
        ("A", "I see walls at (1,2). Proposed path: N, E, E."),
        ("B", "That crosses a wall on my side. How about E, E, N?"),
        ("A", "Sounds good, E, E, N it is."),
        ("B", "Agreed. DONE"),
    )
    # B's E, E, N was accepted by A repeating it; A's restatement was then accepted by B's agreement.
    assert grade_transcript(transcript, ["A", "B"]) == {"moves": ["E", "E", "N"], "agreed": True}


def test_grader_without_agreement_takes_the_last_proposal():
    transcript = said(("A", "Go north then east."), ("B", "No, I would go south."), ("A", "Hmm."))
    assert grade_transcript(transcript, ["A", "B"]) == {"moves": ["S"], "agreed": False}
    assert grade_transcript(said(("A", "hello"), ("B", "hi")), ["A", "B"]) == {"moves": [], "agreed": False}
    # A grader's or an observer's words never count.
    transcript = said(("A", "N, N"), ("Judge", "ok"), ("B", "Yes."))
    assert grade_transcript(transcript, ["A", "B"]) == {"moves": ["N", "N"], "agreed": True}


def free_state(params=None, roles=PAIR):
    state = MAZE.initial_state({"conversation": "free", **(params or {})}, roles, 0)
    state.update({"grid": OPEN_GRID, "pos": [2, 2], "start": [2, 2], "goal": [0, 5], "visited": [[2, 2]],
                  "optimal": 5})
    return state


def test_free_conversation_then_the_rule_grader_plays_the_agreed_path():
    state = free_state()
    assert MAZE.next_step(state) == {"phase": "talk", "actors": ["A"], "round": 1}
    assert "Talk freely" in MAZE.rules_text(state) and "say DONE" in MAZE.rules_text(state)
    # Through the wall at (1,3) first: bump, then around it.
    state = MAZE.record_talk(state, "A", "Let's do: E, N, N, E, E, E")
    assert MAZE.next_step(state)["actors"] == ["B"] and state["pos"] == [2, 2]  # talking moves nothing
    state = MAZE.record_talk(state, "B", "Okay, agreed. DONE")
    assert MAZE.next_step(state) is None
    m = MAZE.metrics(state)
    assert m["extracted_moves"] == ["E", "N", "N", "E", "E", "E"] and m["agreed"] and m["grader"] == "rules"
    # (2,2) E to (2,3); N twice into the wall at (1,3): two bumps; E, E, E to (2,6)? The edge: (2,4), (2,5),
    # then a third bump at the east edge. The token ends at (2,5), not the goal (0,5).
    assert m["bumps"] == 3 and m["moves"] == 3 and not m["solved"]
    assert "does not reach the goal" in MAZE.end_reason(state)


def test_free_conversation_solved_path_and_efficiency():
    state = free_state()
    state = MAZE.record_talk(state, "A", "N, N, E, E, E")
    state = MAZE.record_talk(state, "B", "N, N, E, E, E: yes. DONE")
    m = MAZE.metrics(state)
    assert m["solved"] and m["bumps"] == 0 and m["moves"] == 5 and m["path_efficiency"] == 1.0


def test_utterance_cap_ends_the_talk():
    state = free_state({"max_utterances": 3})
    for who, text in [("A", "hmm"), ("B", "hmm"), ("A", "W")]:
        state = MAZE.record_talk(state, who, text)
    assert MAZE.next_step(state) is None and MAZE.metrics(state)["extracted_moves"] == ["W"]
    assert not MAZE.metrics(state)["agreed"]


def test_a_grader_role_extracts_the_moves_as_an_action():
    state = free_state({"grader_role": "Judge"}, roles=["A", "B", "Judge"])
    state = MAZE.record_talk(state, "A", "N, N, E, E, E")
    state = MAZE.record_talk(state, "B", "Agreed. DONE")
    step = MAZE.next_step(state)
    assert step == {"phase": "act", "actors": ["Judge"], "simultaneous": False, "round": 3}
    assert "A: N, N, E, E, E" in MAZE.observation(state, "Judge")
    assert MAZE.scripted_action(state, "Judge", "follow_known_path", random.Random(0)) == {
        "moves": ["N", "N", "E", "E", "E"]}
    assert MAZE.validate_action(state, "Judge", {"moves": ["UP"]})[1].startswith("action.moves[0]")
    state, report = MAZE.apply(state, {"Judge": {"moves": ["N", "N", "E", "E", "E"]}}, random.Random(0))
    assert report["solved"] and report["grade"]["grader"] == "Judge" and report["grade"]["rules_moves"] == [
        "N", "N", "E", "E", "E"]
    with pytest.raises(ValueError, match="grader_role must be a role other than the navigators"):
        MAZE.initial_state({"conversation": "free", "grader_role": "A"}, PAIR, 0)


@pytest.mark.parametrize("seed", range(5))
def test_scripted_navigators_share_walls_and_agree(seed):
    state, _ = scenarios.play_scripted(MAZE, PAIR, "follow_known_path", seed=seed, params={"conversation": "free"})
    m = MAZE.metrics(state)
    assert m["solved"] and m["agreed"] and m["path_efficiency"] == 1.0 and m["utterances"] <= 4


def test_relay_leader_is_the_stronger_and_hands_over():
    state = MAZE.initial_state({"relay": True, "strengths": {"A": 1, "B": 3}, "handoff_turn": 2}, PAIR, 0)
    assert MAZE.next_step(state)["actors"] == ["B"]  # the stronger leads
    assert "B leads for the first 2 turns, then A leads" in MAZE.rules_text(state)
    for _ in range(2):
        lead = MAZE.next_step(state)["actors"][0]
        state, _ = MAZE.apply(state, {lead: {"move": "N"}}, random.Random(0))
        follow = MAZE.next_step(state)["actors"][0]
        assert follow != lead
        state, _ = MAZE.apply(state, {follow: {"move": "N"}}, random.Random(0))
    assert state["turn"] == 3 and MAZE.next_step(state)["actors"] == ["A"]  # handed over to the weaker
    free = MAZE.initial_state({"conversation": "free", "relay": True, "strengths": {"A": 1, "B": 3}}, PAIR, 0)
    assert MAZE.next_step(free)["actors"] == ["B"]
    with pytest.raises(ValueError, match="strengths name roles not in the team: C"):
        MAZE.initial_state({"strengths": {"C": 2}}, PAIR, 0)
