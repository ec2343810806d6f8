"""Turn snapshots: the engine state after every committed turn, so a fork can
start from any turn, stored in space linear in the number of turns.

A session's state grows as it runs (a scenario keeps its rounds' history), so
a full copy per turn costs O(turns²). Instead each turn's row holds either
the full state or its delta (collab.core.json_delta) from the turn before:

- A row holds the full state at the session's first recorded turn, and
  whenever the deltas since the last full row, this turn's included, would
  add up to more bytes than the full state itself. So the full rows cost at
  most about what the deltas cost (a growing state is copied at doubling
  intervals), total storage is a small multiple of what actually changed,
  and rebuilding any turn reads one full row plus deltas no bigger than it.
- `state_after` rebuilds turn t's state exactly: the nearest full row at or
  before t, then each delta after it in turn order. A delta is taken against
  that rebuilt state of the turn before (not the session's live state, which
  a plan edit or a score between turns may have changed since).

Rows are written in the turn's own transaction, under the session lock, so
the chain never has a gap.

Writing turn t needs turn t-1's state. Rebuilding it means reading the rows
back to the last full one (up to the state's size) every turn, so each
process remembers, once the turn has committed, the state it stored last for
each running session (keyed by the session's id and creation time, as an id
can be reused after a delete on SQLite); a miss (another worker ran the turn
before, or a restart) rebuilds from the rows. Only committed turns are
remembered: a turn rolled back here and then committed by another worker
must not be the base of this process's next delta.
"""

import json
import threading
from collections import OrderedDict

from django.db import transaction
from django.db.models import Subquery

from collab.core.json_delta import diff, patch
from collab.sessions.models import Session, TurnSnapshot


def record(session: Session, *, turn_index: int, first_seq: int, last_seq: int, state: dict) -> TurnSnapshot:
    """Store the state after `turn_index` (the caller holds the session lock)."""
    text = json.dumps(state)
    state = json.loads(text)  # as the database will give it back: keys as text, tuples as lists
    full_bytes = len(text)
    delta, since_full = None, 0
    before = _recall(session, turn_index - 1)
    if before is None:
        chain = _chain(session.pk, turn_index - 1)
        if chain is not None:
            before = _rebuild(chain), sum(len(json.dumps(row["delta"])) for row in chain[1:])
    if before is not None:
        delta = diff(before[0], state)
        since_full = before[1] + len(json.dumps(delta))
        if since_full > full_bytes:
            delta, since_full = None, 0
    row = TurnSnapshot.objects.create(
        session=session, turn_index=turn_index, first_seq=first_seq, last_seq=last_seq,
        state=state if delta is None else None, delta=delta,
        tokens_used=session.tokens_used, cost_used=session.cost_used)
    key = (session.pk, session.created_at)
    transaction.on_commit(lambda: _remember(key, turn_index, state, since_full))
    return row


_RECENT_MAX = 1024  # sessions; a state is a few kB to a few hundred kB
_recent: OrderedDict = OrderedDict()  # (session id, created_at) -> (turn_index, state, delta bytes since full)
_recent_lock = threading.Lock()


def _remember(key, turn_index: int, state: dict, since_full: int) -> None:
    with _recent_lock:
        _recent[key] = (turn_index, state, since_full)
        _recent.move_to_end(key)
        while len(_recent) > _RECENT_MAX:
            _recent.popitem(last=False)


def _recall(session: Session, turn_index: int) -> tuple[dict, int] | None:
    """The state this process stored for `turn_index` of `session`, and the
    delta bytes since the last full row, if it was the last one it stored."""
    with _recent_lock:
        entry = _recent.get((session.pk, session.created_at))
    if entry is None or entry[0] != turn_index:
        return None
    return entry[1], entry[2]


def state_after(session_id: int, turn_index: int) -> dict:
    """The engine state right after turn `turn_index` was committed."""
    chain = _chain(session_id, turn_index)
    if chain is None:
        raise TurnSnapshot.DoesNotExist(f"no snapshot of turn {turn_index} in session {session_id}")
    return _rebuild(chain)


def _chain(session_id: int, turn_index: int) -> list[dict] | None:
    """The rows from the last full one at or before `turn_index` up to it, in turn order, or None."""
    rows = TurnSnapshot.objects.filter(session_id=session_id, turn_index__lte=turn_index)
    start = rows.filter(delta__isnull=True).order_by("-turn_index").values("turn_index")[:1]
    chain = list(rows.filter(turn_index__gte=Subquery(start)).order_by("turn_index")
                 .values("turn_index", "state", "delta"))
    if not chain or [row["turn_index"] for row in chain] != list(range(chain[0]["turn_index"], turn_index + 1)):
        return None  # no full row, or no row for a turn on the way: it cannot be rebuilt
    return chain


def _rebuild(chain: list[dict]) -> dict:
    state = chain[0]["state"]
    for row in chain[1:]:
        state = patch(state, row["delta"])
    return state
