"""The only way into a session's event log.

`append` is called inside a transaction that holds the session row lock
(`lock_session`), so seq numbers are 1..N with no gap and no duplicate.
Broadcasts go out after commit; a dropped broadcast is healed by the
client's catch-up from the database.
"""

from django.db import transaction

from collab.core.text import storable, storable_json
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
    entry = {"kind": kind, "actor": actor, "payload": payload, "audience": audience, "turn_index": turn_index}
    return append_many(session, [entry])[0]


def append_many(session: Session, entries: list[dict], *, save_seq: bool = True) -> list[Event]:
    """Append several events (dicts of append's keyword arguments) in one
    insert and one counter update, under the same rules as append. With
    save_seq=False the caller saves session.last_seq in its own update."""
    if not entries:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.append must run inside transaction.atomic() with the session locked")
    first = session.last_seq + 1
    events = Event.objects.bulk_create(
        Event(session=session, seq=first + i, kind=e["kind"], actor=storable(e["actor"]), audience=e.get("audience"),
              payload=storable_json(e.get("payload") or {}), turn_index=e.get("turn_index"))
        for i, e in enumerate(entries))
    session.last_seq = first + len(entries) - 1
    if save_seq:
        Session.objects.filter(pk=session.pk).update(last_seq=session.last_seq)
    for event in events:
        transaction.on_commit(lambda event=event: _publish(event))
    return events


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
