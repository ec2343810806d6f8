"""Shared setup for the research tests: a finished session with a real run's
events, padded to a given length with a realistic mix of kinds."""

from django.db import transaction

from collab.engine.runner import inline, run_inline
from collab.sessions import events as log
from collab.sessions import services
from collab.sessions.models import Session
from tests.engine_helpers import make_team

PAD_KINDS = [
    {"kind": "message", "actor": "analyst", "payload": {"text": "We should cap the catch at **10** tonnes — agreed? ünïcødé"}},
    {"kind": "message", "actor": "coder", "audience": ["tester"], "payload": {"text": "psst, between us", "phase": "code"}},
    {"kind": "vote", "actor": "tester", "payload": {"vote": "B", "reason": "fairer"}},
    {"kind": "action", "actor": "coder", "payload": {"action": {"catch": 7.5, "message": "taking 7.5"}}},
    {"kind": "scenario_state", "actor": "system", "payload": {"metrics": {"stock": 0.1 + 0.2, "round": 3}, "title": "Fishery"}},
    {"kind": "intervention", "actor": "user:owner", "payload": {"action": "pause", "text": "owner paused the session."}},
]


def run_session(owner, *, max_turns: int = 4, pad_to: int = 0, title: str = "") -> Session:
    """A scripted round-robin session run to its end in this process, then
    padded with more events (as a long session would have) up to `pad_to`."""
    session = services.session_create(owner=owner, team=make_team(owner, name=f"Trio {title}"), max_turns=max_turns,
                                      brief="Design a bike shelter", title=title)
    with inline():
        services.session_start(session=session, user=owner)
        run_inline(session.pk)
    session.refresh_from_db()
    if pad_to > session.last_seq:
        with transaction.atomic():
            locked = log.lock_session(session.pk)
            entries = [{**PAD_KINDS[i % len(PAD_KINDS)], "turn_index": 100 + i // 6}
                       for i in range(pad_to - locked.last_seq)]
            log.append_many(locked, entries)
        session.refresh_from_db()
    return session
