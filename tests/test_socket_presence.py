"""Presence survives crashes: a daphne process killed with observers
connected leaves no ghost once their heartbeats lapse, and the viewers on
another process see the corrected list without doing anything."""

import asyncio
import re
import time

import pytest
import websockets
from django.contrib.auth.models import User

from collab.live import presence
from collab.sessions import services
from collab.sessions.models import Membership, Session
from tests import procs
from tests.engine_helpers import make_team
from tests.test_live_socket import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)
TTL = "3"  # seconds; the default is 40, so a dead socket expires within a minute


async def open_socket(url: str, session_id: int, cookie: bytes):
    ws_url = url.replace("http://", "ws://") + f"/ws/sessions/{session_id}/"
    return await websockets.connect(ws_url, origin=url, additional_headers={"Cookie": cookie.decode()})


async def names_shown(ws, timeout: float, until: list[str] | None = None) -> list[list[str]]:
    """The presence lists the server pushed to this socket within `timeout`
    (or until it pushed `until`)."""
    seen = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            break
        if 'id="presence"' in frame:
            seen.append(sorted(set(re.findall(r"<li>([^<]+)</li>", frame))))
            if seen[-1] == until:
                break
    return seen


def test_a_killed_daphne_leaves_no_ghosts(owner):
    session = services.session_create(owner=owner, team=make_team(owner), visibility=Session.Visibility.PRIVATE)
    viewers = [User.objects.create_user(f"viewer{i}", password="viewer-pass-123") for i in range(3)]
    for user in viewers:
        services.membership_add(session=session, by=owner, user=user, capacity=Membership.Capacity.OBSERVER)
    cookies = {user.username: cookie_for(user) for user in [owner, *viewers]}
    doomed, doomed_url = procs.start_daphne(COLLAB_PRESENCE_TTL=TTL)
    survivor, survivor_url = procs.start_daphne(COLLAB_PRESENCE_TTL=TTL)

    async def scenario():
        keeper = await open_socket(survivor_url, session.pk, cookies["owner"])
        _ = [await open_socket(doomed_url, session.pk, cookies[user.username]) for user in viewers]
        await names_shown(keeper, 1.0)
        assert await presence.names(session.pk) == ["owner", "viewer0", "viewer1", "viewer2"]

        started = time.monotonic()
        doomed.kill()  # SIGKILL: no disconnect handler runs, nothing leaves the presence set
        shown = await names_shown(keeper, float(TTL) * 3, until=["owner"])
        expired_after = time.monotonic() - started
        assert shown and shown[-1] == ["owner"], shown
        assert await presence.names(session.pk) == ["owner"]
        assert await presence.watched_ids() == {session.pk}
        print(f"ghosts expired {expired_after:.1f}s after the kill (ttl {TTL}s)")

        # A viewer reconnecting through the surviving process counts once, and leaving empties the list.
        again = await open_socket(survivor_url, session.pk, cookies["viewer0"])
        await names_shown(keeper, 1.0)
        assert await presence.names(session.pk) == ["owner", "viewer0"]
        for ws in (again, keeper):
            await ws.close()
        await asyncio.sleep(0.5)
        assert await presence.names(session.pk) == []
        assert await presence.watched_ids() == set()

    try:
        asyncio.run(scenario())
    finally:
        survivor.stop()
        doomed.stop()
