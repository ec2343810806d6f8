"""The live socket driven through the full ASGI application."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from collab.asgi import application
from collab.live import bus
from collab.sessions import events, services
from collab.sessions.models import Membership
from tests.engine_helpers import make_team

pytestmark = pytest.mark.django_db(transaction=True)


def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(session_id: int, user=None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(cookie_for)(user)))
    return WebsocketCommunicator(application, f"/ws/sessions/{session_id}/", headers=headers)


def add_events(session, n: int, prefix: str = "m") -> None:
    for i in range(n):
        with transaction.atomic():
            events.append(events.lock_session(session.pk), kind="message", actor="analyst",
                          payload={"text": f"{prefix}{i}"})


async def receive_all(comm, timeout=0.5) -> list[str]:
    """Everything the server sends until it is quiet for `timeout` seconds."""
    out = []
    while not await comm.receive_nothing(timeout=timeout):
        out.append(await comm.receive_from())
    return out


def seqs(frames: list[str]) -> list[int]:
    import re

    return [int(m) for f in frames for m in re.findall(r'<article id="ev-(\d+)"', f)]


@pytest.fixture
def session(owner):
    return services.session_create(owner=owner, team=make_team(owner))


async def test_refused_without_login(session):
    comm = await connect(session.pk)
    connected, code = await comm.connect()
    assert not connected


async def test_refused_for_a_non_member(session, outsider):
    comm = await connect(session.pk, outsider)
    connected, code = await comm.connect()
    assert not connected
    assert code == 4403


async def test_observer_watches_but_cannot_act(session, owner, outsider):
    await database_sync_to_async(services.membership_add)(session=session, by=owner, user=outsider,
                                                          capacity=Membership.Capacity.OBSERVER)
    comm = await connect(session.pk, outsider)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    for action in ("start", "pause", "stop"):
        await comm.send_to(text_data=json.dumps({"action": action}))
    await comm.send_to(text_data=json.dumps({"action": "inject", "text": "<b>hi</b>"}))
    await comm.send_to(text_data=json.dumps({"action": "take_seat", "role": "coder"}))
    frames = await receive_all(comm)
    refusals = [json.loads(f) for f in frames if f.startswith("{")]
    assert [r["action"] for r in refusals] == ["start", "pause", "stop", "inject", "take_seat"]
    assert all(r["type"] == "refused" for r in refusals)
    await session.arefresh_from_db()
    assert session.status == "draft" and session.last_seq == 0
    await comm.disconnect()


async def test_catch_up_after_reconnect_returns_exactly_the_missing_events(session, owner):
    await database_sync_to_async(add_events)(session, 3)
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    assert seqs(await receive_all(comm)) == [1, 2, 3]
    await comm.disconnect()

    await database_sync_to_async(add_events)(session, 4, prefix="while-away-")
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 3}))
    frames = await receive_all(comm)
    assert seqs(frames) == [4, 5, 6, 7]
    assert "while-away-0" in frames[0]

    # Live events continue from there; a dropped broadcast (seq 8 never sent) is filled from the database.
    await database_sync_to_async(add_events)(session, 2, prefix="live-")
    frames = await receive_all(comm)
    assert seqs(frames) == [8, 9]
    await comm.disconnect()


async def test_a_gap_in_broadcasts_is_filled_from_the_database(session, owner):
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)

    def write_silently():
        # Two events whose broadcasts are "dropped", then a third that is sent.
        from collab.sessions.models import Event, Session

        with transaction.atomic():
            s = Session.objects.select_for_update().get(pk=session.pk)
            for seq in (1, 2):
                Event.objects.create(session=s, seq=seq, kind="message", actor="coder", payload={"text": f"lost{seq}"})
            Session.objects.filter(pk=s.pk).update(last_seq=2)
        add_events(session, 1, prefix="third")

    await database_sync_to_async(write_silently)()
    frames = await receive_all(comm)
    assert seqs(frames) == [1, 2, 3]
    await comm.disconnect()


async def test_stale_client_ahead_of_the_server_is_told_to_reload(session, owner):
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 50}))
    frames = await receive_all(comm)
    assert any('data-reload="1"' in f for f in frames)
    await comm.disconnect()


async def test_deltas_are_escaped(session, owner):
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    await bus.send(session.pk, {"type": "turn.start", "turn": 0, "actors": ["coder"], "live": True})
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "<script>alert(1)</script>"})
    frames = await receive_all(comm)
    assert frames and "<script>" not in "".join(frames)
    assert "&lt;script&gt;" in "".join(frames)
    await comm.disconnect()


async def test_joining_mid_reply_shows_the_text_so_far_once(session, owner):
    from collab import control
    from collab.sessions.models import Session

    await Session.objects.filter(pk=session.pk).aupdate(status="running")
    await control.set_turn_in_flight(session.pk, {"turn": 0, "actors": ["coder"], "live": True})
    await control.save_turn_text(session.pk, 0, "coder", "stale text of a failed attempt", first=True)
    await control.save_turn_text(session.pk, 0, "coder", "Hello ", first=True)
    await control.save_turn_text(session.pk, 0, "coder", "there, ", first=False)
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    frames = await receive_all(comm)
    bubble = next(f for f in frames if 'id="live-body-0-coder"' in f)
    assert "Hello there," in bubble and "stale" not in bubble
    # A delta that overlaps what the bubble already shows only adds the new part.
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "there, team!", "offset": 6})
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "Hello ", "offset": 0})
    frames = await receive_all(comm)
    assert len(frames) == 1 and "team!" in frames[0] and "there," not in frames[0]
    await comm.disconnect()


async def test_seat_changes_reach_every_page_and_the_composer_only_its_holder(session, owner, participant):
    """A seat taken over the socket: the taker's page gets the composer, the other
    member's page only the new seat list; handing it back removes the composer."""
    await database_sync_to_async(services.membership_add)(session=session, by=owner, user=participant,
                                                          capacity=Membership.Capacity.PARTICIPANT)
    pages = {}
    for user in (owner, participant):
        pages[user.username] = comm = await connect(session.pk, user)
        assert (await comm.connect())[0]
        await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
        await receive_all(comm, 0.3)

    await pages["participant"].send_to(text_data=json.dumps({"action": "take_seat", "role": "coder"}))
    mine, theirs = "".join(await receive_all(pages["participant"])), "".join(await receive_all(pages["owner"]))
    for html in (mine, theirs):
        assert 'id="seats"' in html and "played by participant" in html
    assert 'id="composer"' in mine and "You play <strong>coder</strong>" in mine
    assert "Hand back" in mine and "Take seat" not in mine  # one seat per person
    assert "composer-slot" not in theirs and "Take seat" in theirs and "Hand back" not in theirs

    # A page rendered before the seat was taken catches up: it says it shows no composer, and gets one;
    # a page that shows the composer already keeps its draft.
    for shown, swapped in (("", True), ("coder", False)):
        late = await connect(session.pk, participant)
        assert (await late.connect())[0]
        await late.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0, "seat": shown}))
        caught_up = "".join(await receive_all(late))
        assert 'id="seats"' in caught_up and ('id="composer"' in caught_up) is swapped
        await late.disconnect()

    await pages["participant"].send_to(text_data=json.dumps({"action": "release_seat", "role": "coder"}))
    mine, theirs = "".join(await receive_all(pages["participant"])), "".join(await receive_all(pages["owner"]))
    assert 'id="composer-slot"' in mine and 'id="composer"' not in mine and "Take seat" in mine
    assert "played by" not in theirs and "composer-slot" not in theirs
    for comm in pages.values():
        await comm.disconnect()
