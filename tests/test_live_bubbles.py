"""Typing bubbles over the socket: a page shows a bubble only while its turn
is in flight, every delete names a bubble the page shows, and no delta lands
after its bubble went (issue 10 items 4 and 7)."""

import json
import re

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from collab.live import bus
from collab.sessions import events, services
from collab.sessions.models import Session
from tests.engine_helpers import make_team
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(owner):
    return services.session_create(owner=owner, team=make_team(owner))


def log(session_id: int, **entry) -> None:
    with transaction.atomic():
        events.append(events.lock_session(session_id), **entry)


def deleted(frames: list[str]) -> list[str]:
    return [m for f in frames for m in re.findall(r'<div id="(live-[^"]+)" hx-swap-oob="delete"', f)]


async def opened(session, owner):
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    return comm


async def test_a_turns_own_event_ends_its_bubbles_and_later_deltas_are_dropped(session, owner):
    comm = await opened(session, owner)
    await bus.send(session.pk, {"type": "turn.start", "turn": 0, "actors": ["analyst", "coder"], "live": False})
    assert any('id="live-0-analyst"' in f for f in await receive_all(comm))
    # A facilitator's note during the turn ends nothing.
    await database_sync_to_async(log)(session.pk, kind="message", actor="user:owner", turn_index=0,
                                      payload={"text": "note", "intervention": "inject"})
    assert deleted(await receive_all(comm)) == []
    # The turn's first action ends both bubbles, once; the second action deletes nothing.
    for actor in ("analyst", "coder"):
        await database_sync_to_async(log)(session.pk, kind="action", actor=actor, turn_index=0,
                                          payload={"action": {"catch": 3}})
    frames = await receive_all(comm)
    assert deleted(frames) == ["live-0-analyst", "live-0-coder"]
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "late"})
    assert await receive_all(comm) == []
    await comm.disconnect()


@pytest.mark.parametrize("status", ["finished", "paused", "awaiting_human"])
async def test_a_session_that_stops_running_has_no_bubble(session, owner, status):
    comm = await opened(session, owner)
    await bus.send(session.pk, {"type": "turn.start", "turn": 0, "actors": ["coder"], "live": True})
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "half a rep"})
    await receive_all(comm)

    def change():
        from collab.engine import status as status_mod

        with transaction.atomic():
            status_mod.change(events.lock_session(session.pk), status, actor="user:owner", reason="by the owner")

    await database_sync_to_async(change)()
    assert deleted(await receive_all(comm)) == ["live-0-coder"]
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "ly"})
    assert await receive_all(comm) == []
    await comm.disconnect()


async def test_a_new_turn_clears_a_bubble_its_predecessor_left(session, owner):
    comm = await opened(session, owner)
    await bus.send(session.pk, {"type": "turn.start", "turn": 0, "actors": ["coder"], "live": True})
    await receive_all(comm)
    await bus.send(session.pk, {"type": "turn.start", "turn": 1, "actors": ["tester"], "live": True})
    frames = await receive_all(comm)
    assert deleted(frames) == ["live-0-coder"] and any('id="live-1-tester"' in f for f in frames)
    # The same start announced twice (broadcast and hello) shows one bubble.
    await bus.send(session.pk, {"type": "turn.start", "turn": 1, "actors": ["tester"], "live": True})
    assert await receive_all(comm) == []
    await comm.disconnect()


async def test_an_event_without_a_shown_bubble_deletes_nothing(session, owner):
    comm = await opened(session, owner)
    await Session.objects.filter(pk=session.pk).aupdate(status="running")
    await database_sync_to_async(log)(session.pk, kind="message", actor="coder", turn_index=0, payload={"text": "hi"})
    frames = await receive_all(comm)
    assert frames and deleted(frames) == []
    await comm.disconnect()
