"""Session state changes. Each one is an event, written under the row lock."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from collab.sessions import events as log
from collab.sessions.models import Session
from collab.sessions.selectors import (
    ENDED_BY_BUDGET,
    ENDED_BY_ERROR,
    ENDED_BY_MAX_TURNS,
    ENDED_BY_PROTOCOL,
    ENDED_BY_RULES,
    stats,
)

S = Session.Status


def change(session: Session, new: str, *, actor: str, reason: str = "", ended_by: str = "",
           extra: dict | None = None) -> None:
    """Move a locked session to `new` and log it; the caller holds the lock."""
    previous = session.status
    session.status = new
    fields = ["status", "updated_at"]
    if new == S.RUNNING and session.started_at is None:
        session.started_at = timezone.now()
        fields.append("started_at")
    if new == S.FINISHED and session.scores_unreliable:
        reason = (f"{reason}; {session.defaulted_replies} of {session.agent_replies} replies "
                  f"({session.defaulted_share:.0%}) were defaulted: scores unreliable")
        extra = {**(extra or {}), "unreliable": True}
    if new in {S.FINISHED, S.FAILED}:
        session.finished_at, session.end_reason = timezone.now(), reason
        session.lease_token, session.lease_expires_at = "", None
        fields += ["finished_at", "end_reason", "lease_token", "lease_expires_at"]
    session.save(update_fields=fields)
    payload = {"status": new, "previous": previous, "reason": reason, "text": _describe(new, reason)}
    if ended_by:
        payload["ended_by"] = ended_by
        if session.scenario and ended_by not in ENDED_BY_RULES:
            payload["provisional"] = True  # the page marks the scenario's scores so
    payload.update(extra or {})
    log.append(session, kind="state", actor=actor, payload=payload)
    publish_stats_on_commit(session)


def publish_stats_on_commit(session: Session) -> None:
    from collab.live import bus

    snapshot = stats(session)
    transaction.on_commit(lambda: bus.publish_stats(session.pk, snapshot))


def _describe(new: str, reason: str) -> str:
    label = S(new).label
    return f"Session {label.lower()}" + (f": {reason}" if reason else ".")


def end_condition(session: Session, protocol, ctx) -> tuple[str, str] | None:
    """(reason, ended_by) when the session must end now, else None. The
    protocol's own end comes first: a run that completes on its last allowed
    turn completed by its rules, it was not cut short."""
    if protocol.next_turn(ctx) is None:
        return protocol.end_reason(ctx), protocol.ended_by
    if session.next_turn >= session.max_turns:
        cut = f"max turns reached ({session.max_turns})"
    elif session.token_budget and session.tokens_used >= session.token_budget:
        cut = f"token budget spent ({session.tokens_used:,} of {session.token_budget:,})"
    elif session.cost_budget and session.cost_used >= session.cost_budget:
        cut = f"cost budget spent ({session.cost_used:.4f} of {session.cost_budget})"
    else:
        return None
    by = ENDED_BY_MAX_TURNS if session.next_turn >= session.max_turns else ENDED_BY_BUDGET
    return cut_short_reason(session, cut), by


def cut_short_reason(session: Session, cause: str) -> str:
    if session.scenario:
        return f"cut short: {cause} before the scenario ended; its scores are provisional"
    return f"cut short: {cause} before the protocol ended"


def _locked_with_lease(session_id: int, token: str | None) -> Session | None:
    session = log.lock_session(session_id)
    if token is not None and session.lease_token != token:
        return None
    return session


def finish(session_id: int, reason: tuple[str, str] | str, *, token: str | None = None) -> None:
    reason, by = reason if isinstance(reason, tuple) else (reason, ENDED_BY_PROTOCOL)
    with transaction.atomic():
        session = _locked_with_lease(session_id, token)
        if session is not None and not session.is_over:
            change(session, S.FINISHED, actor="system", reason=reason, ended_by=by)


def fail(session_id: int, reason: str, *, token: str | None = None) -> None:
    with transaction.atomic():
        session = _locked_with_lease(session_id, token)
        if session is not None and not session.is_over:
            log.append(session, kind="turn_error", actor="system", turn_index=session.next_turn,
                       payload={"text": f"Session failed: {reason}", "fatal": True})
            change(session, S.FAILED, actor="system", reason=reason, ended_by=ENDED_BY_ERROR)


def pause_for_error(session: Session, cause: str) -> None:
    log.append(session, kind="turn_error", actor="system", turn_index=session.next_turn,
               payload={"text": f"Paused: {cause}. Resume to try the turn again.", "cause": cause})
    Session.objects.filter(pk=session.pk).update(lease_token="", lease_expires_at=None, turn_attempts=0)
    if session.status in {S.RUNNING, S.AWAITING_HUMAN}:
        change(session, S.PAUSED, actor="system", reason=cause)


def await_humans(session_id: int, token: str, turn_index: int, roles: list[str], timeouts: dict,
                 observations: dict[str, str] | None = None) -> None:
    """Wait for the humans in `roles`. What a scenario shows a role privately
    (its hidden profile) is logged for that role alone, so the human in the
    seat sees what the agent would have found in its prompt."""
    with transaction.atomic():
        session = _locked_with_lease(session_id, token)
        if session is None:
            return
        limits = [t for t in timeouts.values() if t]
        now = timezone.now()
        state = dict(session.state or {})
        state["awaiting"] = {
            "turn": turn_index, "roles": roles, "inputs": {}, "since": now.isoformat(),
            "deadline": (now + timedelta(seconds=min(limits))).isoformat() if limits else None,
        }
        session.state = state
        session.lease_token, session.lease_expires_at, session.turn_attempts = "", None, 0
        session.save(update_fields=["state", "lease_token", "lease_expires_at", "turn_attempts"])
        for role, text in (observations or {}).items():
            if text:
                log.append(session, kind="observation", actor="system", audience=[role], turn_index=turn_index,
                           payload={"text": text, "role": role})
        change(session, S.AWAITING_HUMAN, actor="system", reason=f"waiting for {', '.join(roles)}",
               extra={"awaiting": roles})
