"""Live updates come back by themselves after a Redis restart.

A daphne that was running through the outage must deliver group broadcasts
again once Redis is back, without being restarted: a socket that connects
after the restart sees presence and new events. A socket that was open
during the outage is told that live updates are paused and closed with the
code the page reconnects on; reconnecting after the restart works, and it
leaves no ghost in the presence list.
"""

import asyncio
import contextlib
import json
import re
import time

import pytest
import websockets
from django.contrib.auth.models import User

from collab.sessions import services
from collab.sessions.models import Membership, Session
from tests import procs
from tests.engine_helpers import make_team
from tests.test_live_socket import cookie_for
from tests.test_redis_outage import own_redis  # noqa: F401 - the fixture: a redis-server of this test's own

pytestmark = pytest.mark.django_db(transaction=True)
TTL = "3"  # seconds of presence; the heartbeat, which notices an outage, runs every TTL / 3


async def open_socket(url: str, session_id: int, cookie: bytes):
    ws = await websockets.connect(url.replace("http://", "ws://") + f"/ws/sessions/{session_id}/", origin=url,
                                  additional_headers={"Cookie": cookie.decode()})
    with contextlib.suppress(websockets.ConnectionClosed):  # a socket told to retry is closed at once
        await ws.send(json.dumps({"type": "hello", "last_seq": 0}))
    return ws


async def frames_until(ws, wanted, timeout: float) -> tuple[list[str], int | None]:
    """Frames until one matches `wanted` (or the socket closes, or time runs out): (frames, close code)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            seen.append(await asyncio.wait_for(ws.recv(), left))
            if wanted(seen[-1]):
                break
    except websockets.ConnectionClosed as closed:
        return seen, closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        pass
    return seen, None


async def connect_when_live(url: str, session_id: int, cookie: bytes):
    """Reconnect on "try again later" until the socket stays open: (socket, refusals)."""
    refusals = 0
    while True:
        ws = await open_socket(url, session_id, cookie)
        frames, code = await frames_until(ws, lambda f: 'id="presence"' in f, 5)
        if code is None:
            return ws, refusals
        assert code == 4503 and "Live updates paused" in frames[0], (frames, code)
        refusals += 1
        await asyncio.sleep(0.2)


def presence_is(names: list[str]):
    return lambda frame: 'id="presence"' in frame and sorted(set(re.findall(r"<li>([^<]+)</li>", frame))) == names


def test_broadcasts_reach_sockets_again_after_redis_restarts(owner, own_redis):  # noqa: F811
    session = services.session_create(owner=owner, team=make_team(owner), visibility=Session.Visibility.PRIVATE)
    viewer = User.objects.create_user("viewer", password="viewer-pass-123")
    services.membership_add(session=session, by=owner, user=viewer, capacity=Membership.Capacity.OBSERVER)
    cookies = {"owner": cookie_for(owner), "viewer": cookie_for(viewer)}
    daphne, url = procs.start_daphne(REDIS_URL=own_redis.url, COLLAB_PRESENCE_TTL=TTL)

    async def scenario():
        during = await open_socket(url, session.pk, cookies["viewer"])
        _, code = await frames_until(during, presence_is(["viewer"]), 5)
        assert code is None
        told = asyncio.create_task(frames_until(during, lambda f: False, 20))

        own_redis.kill()
        await asyncio.sleep(2)
        # Pages retrying (live.js, with backoff) while Redis is down and as it comes back.
        retrying = [asyncio.create_task(connect_when_live(url, session.pk, cookies["viewer"])) for _ in range(8)]
        await asyncio.sleep(2)
        own_redis.start()
        pages = await asyncio.gather(*retrying)
        assert all(refusals for _, refusals in pages), "every page was told to retry while Redis was down"

        # Broadcasts through the daphne that lived through the outage: presence of a later socket ...
        watcher = await open_socket(url, session.pk, cookies["owner"])
        frames, code = await frames_until(watcher, presence_is(["owner", "viewer"]), 5)
        assert code is None and presence_is(["owner", "viewer"])(frames[-1]), frames
        # ... a new event of the session, on every socket ...
        await watcher.send(json.dumps({"type": "inject", "text": "after the restart"}))
        for ws in [watcher, *(ws for ws, _ in pages)]:
            frames, code = await frames_until(ws, lambda f: "after the restart" in f and "data-seq" in f, 5)
            assert code is None and "after the restart" in frames[-1], frames
        # ... and leaving, which leaves no ghost of the socket that lived through the outage.
        for ws, _ in pages:
            await ws.close()
        # (A socket closed while a broadcast is on its way to it may skip its goodbye: its heartbeat expires.)
        frames, code = await frames_until(watcher, presence_is(["owner"]), float(TTL) * 3)
        assert code is None and presence_is(["owner"])(frames[-1]), frames
        await watcher.close()
        # The socket open during the outage was told, within a heartbeat, and closed with the code live.js
        # reconnects on.
        frames, code = await told
        assert code == 4503, (frames, code)
        assert any("Live updates paused" in f and 'id="live-status"' in f for f in frames), frames

    try:
        asyncio.run(scenario())
        assert "readuntil()" not in daphne.output(), daphne.output()[-3000:]
    finally:
        daphne.stop()
