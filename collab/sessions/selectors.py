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
        "tokens": session.tokens_used, "cost": float(session.cost_used), "end_reason": session.end_reason,
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


def outcome(session_id: int) -> dict:
    """How a session ended, from its log: status, the final state event's
    ended_by and reason, the last scenario metrics, tokens, cost, and the
    wall time from its first running state to its last state event."""
    session = Session.objects.get(pk=session_id)
    states = list(Event.objects.filter(session_id=session_id, kind=Event.Kind.STATE).order_by("seq")
                  .values("payload", "created_at"))
    started = next((e["created_at"] for e in states if e["payload"].get("status") == Session.Status.RUNNING), None)
    final = states[-1] if states else None
    scenario = (Event.objects.filter(session_id=session_id, kind=Event.Kind.SCENARIO_STATE).order_by("-seq")
                .values_list("payload", flat=True).first())
    ended = final is not None and final["payload"].get("status") in {Session.Status.FINISHED, Session.Status.FAILED}
    return {
        "status": session.status,
        "ended_by": final["payload"].get("ended_by", "") if ended else "",
        "reason": final["payload"].get("reason", "") if ended else "",
        "metrics": (scenario or {}).get("metrics", {}),
        "tokens": session.tokens_used,
        "cost": session.cost_used,
        "started_at": started,
        "finished_at": final["created_at"] if ended else None,
        "wall_seconds": (final["created_at"] - started).total_seconds() if ended and started else None,
    }


def paused_by_engine(session_id: int) -> str:
    """Why the engine paused a session (a model failing), or "" when its
    latest state change is not such a pause (the owner's pause or step)."""
    latest = (Event.objects.filter(session_id=session_id, kind=Event.Kind.STATE).order_by("-seq")
              .values("actor", "payload").first())
    if not latest or latest["actor"] != "system" or latest["payload"].get("status") != Session.Status.PAUSED:
        return ""
    reason = latest["payload"].get("reason", "")
    return "" if reason == "paused after one step" else reason


def scenario_points(session_id: int) -> list[dict]:
    """Each scenario_state event's round, turn and metrics, in log order."""
    rows = Event.objects.filter(session_id=session_id, kind=Event.Kind.SCENARIO_STATE).order_by("seq").values(
        "seq", "turn_index", "payload")
    return [{"seq": r["seq"], "turn_index": r["turn_index"], "round": r["payload"].get("round"),
             "metrics": r["payload"].get("metrics", {})} for r in rows]


def turn_messages(session_id: int, after_seq: int = 0) -> dict[int, list[dict]]:
    """Messages and actions after a seq, grouped by turn index."""
    rows = (Event.objects.filter(session_id=session_id, seq__gt=after_seq, kind__in=[Event.Kind.MESSAGE,
                                                                                     Event.Kind.ACTION])
            .exclude(turn_index=None).order_by("seq").values("seq", "kind", "actor", "payload", "turn_index"))
    turns: dict[int, list[dict]] = {}
    for r in rows:
        text = r["payload"].get("text") if r["kind"] == Event.Kind.MESSAGE else str(r["payload"].get("action"))
        turns.setdefault(r["turn_index"], []).append({"seq": r["seq"], "actor": r["actor"], "text": text or ""})
    return turns


def fork_choices(session_id: int, limit: int = 400) -> list[dict]:
    """The latest events of a session, newest first, to pick a fork point from."""
    rows = Event.objects.filter(session_id=session_id).order_by("-seq")[:limit].values(
        "seq", "kind", "actor", "payload", "turn_index")
    return [{"seq": r["seq"], "kind": r["kind"], "actor": r["actor"], "turn_index": r["turn_index"],
             "text": str(r["payload"].get("text") or r["payload"].get("action") or "")[:140]} for r in rows]


def settled(session_ids: list[int]) -> set[int]:
    """Of these sessions, the ones not running on: finished, failed or paused."""
    return set(Session.objects.filter(pk__in=session_ids, status__in=[
        Session.Status.FINISHED, Session.Status.FAILED, Session.Status.PAUSED]).values_list("pk", flat=True))
