"""Access revoked while a socket is open: removing a member or making a
public session private closes their socket with a reason, at once; the
others keep watching."""

import json

import pytest
from channels.db import database_sync_to_async

from collab.sessions import services
from collab.sessions.models import Membership, Seat, Session
from collab.sessions.permissions import Refused
from tests.engine_helpers import make_team
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)


async def text_arrives(comm, text: str, timeout: float = 10.0) -> bool:
    """Whether `text` reaches this socket within `timeout` (generous: the suite shares two cores)."""
    import asyncio

    async def wait():
        while text not in await comm.receive_from(timeout):
            pass

    try:
        await asyncio.wait_for(wait(), timeout)
        return True
    except TimeoutError:
        return False


async def outputs_until_close(comm, timeout: float = 10.0) -> tuple[list[str], dict]:
    """The frames sent before the server closed the socket, and its close message."""
    frames = []
    while True:
        message = await comm.receive_output(timeout)  # a timeout fails the test: the socket stayed open
        if message["type"] == "websocket.close":
            return frames, message
        frames.append(message.get("text", ""))


async def opened(session_id: int, user):
    comm = await connect(session_id, user)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    return comm


@pytest.fixture
def session(owner, participant, outsider):
    session = services.session_create(owner=owner, team=make_team(owner))
    services.membership_add(session=session, by=owner, user=participant, capacity=Membership.Capacity.PARTICIPANT)
    services.membership_add(session=session, by=owner, user=outsider, capacity=Membership.Capacity.OBSERVER)
    return session


async def test_a_removed_member_is_closed_out_with_a_reason(session, owner, participant, outsider):
    removed, stays = await opened(session.pk, outsider), await opened(session.pk, participant)
    await database_sync_to_async(services.membership_remove)(session=session, by=owner, user=outsider)
    frames, closed = await outputs_until_close(removed)
    assert closed["code"] == 4403
    answers = [json.loads(f) for f in frames if f.startswith("{")]
    assert answers == [{"type": "closed", "action": None, "reason": "You no longer have access to this session."}]

    # The remaining member keeps the socket and the events.
    await database_sync_to_async(services.session_inject)(session=session, user=owner, text="after the removal")
    assert await text_arrives(stays, "after the removal")
    # Reconnecting is refused too.
    again = await connect(session.pk, outsider)
    assert (await again.connect()) == (False, 4403)
    await stays.disconnect()


async def test_making_a_public_session_private_closes_the_link_viewers(owner, participant, outsider):
    def public_session():
        session = services.session_create(owner=owner, team=make_team(owner), visibility=Session.Visibility.PUBLIC)
        services.membership_add(session=session, by=owner, user=participant, capacity=Membership.Capacity.OBSERVER)
        return session

    session = await database_sync_to_async(public_session)()
    by_link, member = await opened(session.pk, outsider), await opened(session.pk, participant)
    await database_sync_to_async(services.session_set_visibility)(session=session, by=owner, visibility="private")
    frames, closed = await outputs_until_close(by_link)
    assert closed["code"] == 4403 and "no longer have access" in "".join(frames)
    assert "no longer have access" not in "".join(await receive_all(member))
    await database_sync_to_async(services.session_inject)(session=session, user=owner, text="members still hear")
    assert await text_arrives(member, "members still hear")
    await member.disconnect()


async def test_a_capacity_change_is_rechecked_and_a_removed_players_seat_goes_back(session, owner, participant):
    player = await opened(session.pk, participant)
    await player.send_to(text_data=json.dumps({"action": "take_seat", "role": "coder"}))
    assert await text_arrives(player, "You play <strong>coder</strong>")

    await database_sync_to_async(services.membership_remove)(session=session, by=owner, user=participant)
    _, closed = await outputs_until_close(player)
    assert closed["code"] == 4403
    seat = await Seat.objects.aget(session=session, role_name="coder")
    assert seat.holder == Seat.Holder.AGENT and seat.user_id is None

    # Back as an observer: the socket opens, and seat actions are refused by the re-check.
    await database_sync_to_async(services.membership_add)(session=session, by=owner, user=participant,
                                                          capacity=Membership.Capacity.OBSERVER)
    watcher = await opened(session.pk, participant)
    await watcher.send_to(text_data=json.dumps({"action": "take_seat", "role": "coder"}))
    answers = [json.loads(f) for f in await receive_all(watcher) if f.startswith("{")]
    assert answers[0]["type"] == "refused" and "observers watch" in answers[0]["reason"]
    await watcher.disconnect()


def test_only_the_owner_changes_access(session, owner, participant, outsider):
    with pytest.raises(Refused):
        services.membership_remove(session=session, by=participant, user=outsider)
    with pytest.raises(Refused):
        services.session_set_visibility(session=session, by=participant, visibility="public")
    with pytest.raises(Refused):
        services.session_set_visibility(session=session, by=owner, visibility="everyone")
    with pytest.raises(Refused):
        services.membership_remove(session=session, by=owner, user=owner)
    assert Membership.objects.filter(session=session).count() == 3
