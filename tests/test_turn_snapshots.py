"""Turn snapshots are stored as a chain of deltas with a full state now and
then: every turn's state is rebuilt exactly (a fork from any event starts
from what a full copy would have given), and storage grows linearly with the
number of turns, not quadratically."""

import copy
import json
import random

import pytest

from collab.core.json_delta import diff, patch
from collab.engine import runner
from collab.sessions import services, snapshots
from collab.sessions.models import Event, TurnSnapshot
from collab.teams.services import team_create_from_preset

pytestmark = pytest.mark.django_db(transaction=True)

TURNS = 60


def random_json(rng: random.Random, depth: int = 0):
    kind = rng.choice(["int", "float", "str", "bool", "none"] + (["list", "dict"] * 2 if depth < 4 else []))
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "dict":
        return {rng.choice("abcdef"): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return {"int": lambda: rng.randint(0, 2), "float": lambda: rng.choice([0.0, 1.0, 2.5]),
            "str": lambda: rng.choice(["", "x", "y"]), "bool": lambda: rng.random() < 0.5, "none": lambda: None}[kind]()


def mutate(rng: random.Random, value):
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key])} if rng.random() < 0.7 else {
            k: v for k, v in value.items() if k != key}
    if isinstance(value, list) and value and rng.random() < 0.8:
        i = rng.randrange(len(value))
        return rng.choice([value[:i] + [mutate(rng, value[i])] + value[i + 1:], value + [random_json(rng)], value[:i],
                           value[i:], value[1:] + [random_json(rng)]])
    return random_json(rng)


def test_patch_of_diff_gives_back_the_new_value_and_leaves_the_old_one_alone():
    rng = random.Random(7)
    for _ in range(3000):
        old = random_json(rng)
        new = mutate(rng, old)
        kept = copy.deepcopy(old)
        delta = json.loads(json.dumps(diff(old, new)))  # as stored: through the database's JSON
        rebuilt = patch(old, delta)
        assert json.dumps(rebuilt, sort_keys=True) == json.dumps(new, sort_keys=True)  # True vs 1 counts
        assert old == kept
    assert diff({"a": [1, 2]}, {"a": [1, 2]}) == {}
    assert diff({"a": True}, {"a": 1}) == {"d": {"a": {"v": 1}}}
    assert diff({"log": list(range(50))}, {"log": list(range(51))}) == {"d": {"log": {"n": 51, "a": [50]}}}


def public_goods(owner):
    team = team_create_from_preset(preset_key="public_goods_group", owner=owner)
    return services.session_create(owner=owner, team=team, protocol="scenario", max_turns=TURNS, seed=3,
                                   protocol_params={"scenario": "public_goods", "params": {"rounds": 40}})


@pytest.fixture
def long_run(owner, monkeypatch):
    """A 60-turn session run inline, with a plan edit between two turns; the
    state after every turn as the engine had it (what a full copy would hold)."""
    full_states = {}
    record = snapshots.record

    def keep(session, *, turn_index, state, **kwargs):
        full_states[turn_index] = json.loads(json.dumps(state))
        return record(session, turn_index=turn_index, state=state, **kwargs)

    monkeypatch.setattr(snapshots, "record", keep)
    session = public_goods(owner)
    with runner.inline():
        services.session_start(session=session, user=owner)
        for turn in range(TURNS):
            if turn == 25:  # a change between turns: the next delta is taken against the rebuilt turn 24
                services.session_edit_plan(session=session, user=owner, steps=[{"text": "Give it all"}],
                                           base_version=0)
            runner.run_turn(session.pk, turn)
    session.refresh_from_db()
    assert session.next_turn == TURNS and session.status == "finished"
    return session, full_states


def test_every_turn_is_rebuilt_exactly_and_a_fork_between_full_rows_starts_from_it(long_run, owner):
    origin, full_states = long_run
    rows = list(TurnSnapshot.objects.filter(session=origin).order_by("turn_index"))
    assert [r.turn_index for r in rows] == list(range(TURNS))
    full = [r.turn_index for r in rows if r.delta is None]
    assert full[0] == 0 and 2 <= len(full) < TURNS // 4  # a few full rows; deltas between
    for t in range(TURNS):
        assert snapshots.state_after(origin.pk, t) == full_states[t]
    assert full_states[30]["plan"]["steps"][0]["text"] == "Give it all"

    # An event in the middle of a turn stored as a delta, between two full rows.
    turn = next(t for t in range(full[0] + 1, full[1]) if t > (full[0] + full[1]) // 2)
    row = rows[turn]
    assert row.state is None and row.delta
    at = Event.objects.filter(session=origin, turn_index=turn).order_by("seq").first().seq
    fork = services.session_fork(session=origin, user=owner, at_seq=at)
    assert fork.forked_at_seq == row.last_seq and fork.next_turn == turn + 1
    assert fork.state == full_states[turn]
    assert (fork.tokens_used, fork.cost_used) == (row.tokens_used, row.cost_used)

    # The fork runs on and writes its own chain, starting from a full row.
    with runner.inline():
        services.session_start(session=fork, user=owner)
        runner.run_inline(fork.pk, max_turns=3)
    first = TurnSnapshot.objects.filter(session=fork).order_by("turn_index").first()
    assert first.turn_index == turn + 1 and first.delta is None and first.state


def test_storage_grows_linearly_with_the_number_of_turns(long_run):
    origin, full_states = long_run
    rows = list(TurnSnapshot.objects.filter(session=origin).order_by("turn_index"))
    stored = sum(len(json.dumps(r.state if r.delta is None else r.delta)) for r in rows)
    changes = sum(len(json.dumps(diff(full_states[t - 1], full_states[t]))) for t in range(1, TURNS))
    whole_copies = sum(len(json.dumps(s)) for s in full_states.values())  # a full copy per turn, as before
    assert len(rows) == TURNS
    # The full rows cost at most about the deltas: storage is a small multiple of what changed turn by turn.
    assert stored <= len(json.dumps(full_states[0])) + 3 * changes
    # This session's state grows ~70 bytes a turn; a full copy per turn cost 165 kB in all (2.7 kB a turn
    # and rising), the chain costs ~25 kB, a bounded amount per turn.
    assert stored < 600 * TURNS < whole_copies / 4


def test_a_rolled_back_turn_is_not_remembered_as_the_base_of_the_next(owner):
    """The process remembers a stored state only once its turn has committed: a turn
    that rolls back (its commit failed) and is run again is based on the row before it."""
    from django.db import transaction

    team = team_create_from_preset(preset_key="public_goods_group", owner=owner)
    session = services.session_create(owner=owner, team=team, title="Rollback")
    rules = "a rule the state carries along " * 50  # so a delta is smaller than the whole
    states = {0: {"rules": rules, "round": 0, "log": []}, 1: {"rules": rules, "round": 1, "log": ["a"]}}
    for t in (0, 1):
        with transaction.atomic():
            snapshots.record(session, turn_index=t, first_seq=1, last_seq=1, state=states[t])

    class Failed(Exception):
        pass

    with pytest.raises(Failed), transaction.atomic():
        snapshots.record(session, turn_index=2, first_seq=1, last_seq=1, state={"rules": rules, "round": 2, "log": ["a"], "score": 9})
        raise Failed
    # Another worker ran turn 2 again and committed it (a full row here, as it had no base).
    states[2] = {"rules": rules, "round": 2, "log": ["a"], "score": 7}
    TurnSnapshot.objects.create(session=session, turn_index=2, first_seq=1, last_seq=1, state=states[2])
    states[3] = {"rules": rules, "round": 3, "log": ["a", "b"], "score": 9}  # as the lost turn had it
    with transaction.atomic():
        snapshots.record(session, turn_index=3, first_seq=1, last_seq=1, state=states[3])
    assert [snapshots.state_after(session.pk, t) for t in range(4)] == [states[t] for t in range(4)]
    assert list(TurnSnapshot.objects.filter(session=session, delta__isnull=True).values_list("turn_index", flat=True)) \
        == [0, 2]


def test_forks_from_a_plan_edit_between_turns_and_from_a_forks_copied_prefix(long_run, owner):
    """A fork at a facilitator's plan edit between two turns starts with the edited plan;
    a fork of a fork from an event in its copied prefix starts where a fork of the origin would."""
    origin, full_states = long_run
    edit = Event.objects.get(session=origin, kind="plan", payload__intervention="edit_plan")
    fork = services.session_fork(session=origin, user=owner, at_seq=edit.seq)
    assert fork.forked_at_seq == edit.seq and fork.next_turn == 25
    assert fork.state["plan"]["steps"][0]["text"] == "Give it all"
    assert fork.state["protocol"] == full_states[24]["protocol"]

    first = services.session_fork(session=origin, user=owner, at_seq=TurnSnapshot.objects.get(
        session=origin, turn_index=40).last_seq)
    for turn in (10, 24):  # inside the copied prefix: turn 10, and the plan edit after turn 24
        at = TurnSnapshot.objects.get(session=origin, turn_index=turn).last_seq if turn == 10 else edit.seq
        again = services.session_fork(session=first, user=owner, at_seq=at)
        direct = services.session_fork(session=origin, user=owner, at_seq=at)
        assert (again.state, again.next_turn, again.tokens_used) == (direct.state, direct.next_turn, direct.tokens_used)
        assert again.next_turn > 0 and again.state["protocol"] == full_states[again.next_turn - 1]["protocol"]
