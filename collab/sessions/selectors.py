"""Reads on sessions and their logs."""

from collab.sessions.events import serialize
from collab.sessions.models import Event, Membership, Seat, Session


def events_after(session_id: int, after: int, limit: int) -> tuple[list[dict], int]:
    """The events after seq `after` (at most `limit`) and the session's last seq."""
    last = Session.objects.filter(pk=session_id).values_list("last_seq", flat=True).first() or 0
    rows = Event.objects.filter(session_id=session_id, seq__gt=after).order_by("seq")[:limit]
    return [serialize(e) for e in rows], last


def stats(session: Session) -> dict:
    return {
        "status": session.status, "turn": session.next_turn, "max_turns": session.max_turns,
        "tokens": session.tokens_used, "tokens_estimated": session.tokens_estimated,
        "cost": float(session.cost_used), "end_reason": session.end_reason,
        "agent_replies": session.agent_replies, "defaulted_replies": session.defaulted_replies,
        "scores_unreliable": session.is_over and session.scores_unreliable,
    }


def seats(session_id: int) -> list[Seat]:
    return list(Seat.objects.filter(session_id=session_id).select_related("user"))


def seat_view(session: Session, seats: list[Seat], user, capacity: str | None) -> dict:
    """What the seat list and the composer show to one viewer."""
    my_seat = next((s for s in seats if s.user_id == user.pk and s.holder == Seat.Holder.HUMAN), None)
    awaiting = (session.state or {}).get("awaiting") or {}
    waiting_on = [r for r in awaiting.get("roles", []) if r not in awaiting.get("inputs", {})]
    return {
        "session": session, "viewer_id": user.pk, "seats": seats, "my_seat": my_seat,
        "can_sit": capacity in {Membership.Capacity.OWNER, Membership.Capacity.PARTICIPANT},
        "my_turn": bool(my_seat and session.status == Session.Status.AWAITING_HUMAN and my_seat.role_name in waiting_on),
        "awaiting": awaiting,
        "awaiting_roles": waiting_on if session.status == Session.Status.AWAITING_HUMAN else [],
    }
