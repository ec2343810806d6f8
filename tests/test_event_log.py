import pytest
from django.db import transaction

from collab.sessions import events
from collab.sessions.models import AppendOnlyError, Event, Session


@pytest.fixture
def session(owner):
    return Session.objects.create(owner=owner, title="t")


def test_append_numbers_events_without_gaps(session):
    for i in range(5):
        with transaction.atomic():
            locked = events.lock_session(session.pk)
            events.append(locked, kind="message", actor="analyst", payload={"text": str(i)})
    assert list(Event.objects.filter(session=session).values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    session.refresh_from_db()
    assert session.last_seq == 5


@pytest.mark.django_db(transaction=True)
def test_append_needs_a_transaction(session):
    with pytest.raises(RuntimeError):
        events.append(session, kind="message", actor="x")


def test_events_are_never_edited_or_deleted(session):
    with transaction.atomic():
        event = events.append(events.lock_session(session.pk), kind="message", actor="a", payload={"text": "x"})
    event.payload = {"text": "changed"}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
