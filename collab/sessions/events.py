"""The only way into a session's event log.

`append` is called inside a transaction that holds the session row lock
(`lock_session`), so seq numbers are 1..N with no gap and no duplicate.
Broadcasts go out after commit; a dropped broadcast is healed by the
client's catch-up from the database.
"""

from django.db import transaction

from collab.sessions.models import Event, Session


def lock_session(session_id: int) -> Session:
    return Session.objects.select_for_update().get(pk=session_id)


def append(
    session: Session,
    *,
    kind: str,
    actor: str,
    payload: dict | None = None,
    audience: list[str] | None = None,
    turn_index: int | None = None,
) -> Event:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.append must run inside transaction.atomic() with the session locked")
    session.last_seq += 1
    event = Event.objects.create(
        session=session,
        seq=session.last_seq,
        kind=kind,
        actor=actor,
        audience=audience,
        payload=payload or {},
        turn_index=turn_index,
    )
    Session.objects.filter(pk=session.pk).update(last_seq=session.last_seq)
    transaction.on_commit(lambda: _publish(event))
    return event


def serialize(event: Event) -> dict:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "actor": event.actor,
        "audience": event.audience,
        "payload": event.payload,
        "turn_index": event.turn_index,
        "created_at": event.created_at.isoformat(),
    }


def _publish(event: Event) -> None:
    from collab.live import bus

    bus.publish_event(event.session_id, serialize(event))
