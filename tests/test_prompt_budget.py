"""The prompt builder sizes the history to the model's context."""

from collab.engine.prompts import budget_for, build_messages
from collab.engine.protocols.base import Turn
from collab.engine.topologies import TOPOLOGIES
from collab.llm.base import estimate_prompt_tokens

ROSTER = [{"name": "analyst", "persona": "You are the analyst."}, {"name": "coder", "persona": "You code."}]


def events(count: int, words: int = 50) -> list[dict]:
    return [{"seq": i + 1, "kind": "message", "actor": "coder" if i % 2 else "analyst", "audience": None,
             "payload": {"text": f"message {i + 1}: " + " ".join(["detail"] * words)}, "turn_index": i}
            for i in range(count)]


def build(history, budget, older_unread=False):
    return build_messages(role=ROSTER[0], roster=ROSTER, brief="Build a parser.", protocol_title="Round robin",
                          turn=Turn(actors=["analyst"], instruction="Your turn."), events=history,
                          topology=TOPOLOGIES.get("everyone"), topology_params={}, plan={},
                          budget_tokens=budget, older_unread=older_unread)


def test_everything_fits_without_a_note():
    messages = build(events(5), budget=4000)
    assert len(messages) == 1 + 5 + 1 and "left out" not in str(messages)


def test_the_newest_events_that_fit_and_a_note_counting_the_rest():
    messages = build(events(100), budget=1000)
    assert estimate_prompt_tokens(messages) <= 1000
    assert messages[0]["role"] == "system" and messages[-1]["content"] == "Your turn."
    kept = messages[2:-1]
    assert kept[-1]["content"].startswith("coder: message 100:")  # the newest is kept
    first_kept = int(kept[0]["content"].split("message ")[1].split(":")[0])
    assert messages[1]["content"] == (f"[note] {first_kept - 1} older events of this session are left out to fit "
                                      f"the model's context; the newest follow.")
    assert [int(m["content"].split("message ")[1].split(":")[0]) for m in kept] == list(range(first_kept, 101))


def test_a_window_that_does_not_start_at_the_first_event_says_at_least():
    assert "[note] at least" in build(events(100), budget=1000, older_unread=True)[1]["content"]
    assert build(events(3), budget=4000, older_unread=True)[1]["content"].startswith("[note] older events")


def test_a_newest_event_longer_than_the_budget_is_cut_and_marked():
    messages = build(events(1, words=5000), budget=600)
    assert estimate_prompt_tokens(messages) <= 600
    assert messages[-2]["content"].endswith("…(cut to fit the context)")


def test_the_budget_leaves_room_for_the_reply_and_a_margin():
    assert budget_for(4096, 512) == int(4096 * 0.85) - 512
    assert budget_for(1024, 2000) == 256  # never below a usable minimum
