"""Reads on sessions and their logs."""

from collab.sessions.events import serialize
from collab.sessions.models import Event, Session


def events_after(session_id: int, after: int, limit: int) -> tuple[list[dict], int]:
    """The events after seq `after` (at most `limit`) and the session's last seq."""
    last = Session.objects.filter(pk=session_id).values_list("last_seq", flat=True).first() or 0
    rows = Event.objects.filter(session_id=session_id, seq__gt=after).order_by("seq")[:limit]
    return [serialize(e) for e in rows], last


def stats(session: Session) -> dict:
    return {
        "status": session.status, "turn": session.next_turn, "max_turns": session.max_turns,
        "tokens": session.tokens_used, "cost": float(session.cost_used), "end_reason": session.end_reason,
    }
