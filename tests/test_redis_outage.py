"""A Redis outage with turns in flight kills nothing and loses nothing.

This test runs its own redis-server on a free port, with daphne and a Celery
worker pointed at it (the suite's Redis is not touched), kills it twice while
sessions are mid-turn and starts it again. Every session must finish with a
gap-free log and no duplicated turn, the worker must survive, and during the
outage the pages must answer: pause/resume/start over HTTP without a 500 (the
change is committed; what needs Redis catches up later), and a websocket
connect gets a clear "live updates paused" notice and a close code the page
retries on, instead of a 500.
"""

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
import websockets
from django.test import Client

from collab import embedded_redis
from collab.sessions import services
from collab.sessions.models import Event, Session
from tests import procs
from tests.engine_helpers import assert_gapless, make_team, message_turns, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
LOGS = procs.ROOT / "tests" / "artifacts" / "logs"
SESSIONS = 4
OUTAGES = 2
OUTAGE_SECONDS = 5


class OwnRedis:
    """A real redis-server on a loopback port of its own, killable at will."""

    def __init__(self):
        self.port = procs.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(embedded_redis.binary()), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--databases", "16"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def app_on_own_redis(own_redis):
    env = {"REDIS_URL": own_redis.url, "COLLAB_SCRIPTED_TPS": "40"}
    daphne, url = procs.start_daphne(**env)
    worker = procs.Proc("outage-worker", [
        sys.executable, "-m", "celery", "-A", "collab", "worker", "--pool", "threads", "--concurrency", "8",
        "--loglevel", "INFO", "--hostname", f"outage-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
    ], procs.child_env(**env), LOGS)
    try:
        wait_until(lambda: " ready." in worker.output() or not worker.alive(), timeout=30, what="the worker")
        assert worker.alive(), worker.output()[-3000:]
        yield daphne, url, worker
    finally:
        worker.stop()
        daphne.stop()


class Browser:
    """HTTP and websockets against daphne, as a logged-in user."""

    def __init__(self, url: str, user):
        client = Client()
        client.force_login(user)
        self.url, self.cookie = url, client.cookies["sessionid"].value
        self.http = httpx.Client(base_url=url, cookies={"sessionid": self.cookie}, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, data: dict | None = None) -> httpx.Response:
        token = self.http.cookies.get("csrftoken") or self._csrf()
        return self.http.post(path, data=data or {}, headers={"X-CSRFToken": token})

    def _csrf(self) -> str:
        self.get("/")
        return self.http.cookies["csrftoken"]

    def socket_first_frames(self, session_id: int) -> tuple[list[str], int | None]:
        """Connect, send the page's hello, and collect frames for a moment: (frames, close code or None)."""
        async def run():
            frames, code = [], None
            uri = self.url.replace("http://", "ws://") + f"/ws/sessions/{session_id}/"
            async with websockets.connect(uri, origin=self.url,
                                          additional_headers={"Cookie": f"sessionid={self.cookie}"}) as ws:
                with contextlib.suppress(websockets.ConnectionClosed):  # a refused socket is closed at once
                    await ws.send('{"type": "hello", "last_seq": 0}')
                try:
                    while True:
                        frames.append(await asyncio.wait_for(ws.recv(), 2))
                except websockets.ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
                except TimeoutError:
                    pass
            return frames, code

        return asyncio.run(run())


def mid_turn(sessions) -> bool:
    """Every session has committed turns and is still running, so its next turn is in flight."""
    for s in sessions:
        s.refresh_from_db()
        if s.status != Session.Status.RUNNING or s.next_turn < 1:
            return False
    return True


def test_sessions_survive_a_redis_outage_with_turns_in_flight(owner, own_redis, app_on_own_redis):
    _, url, worker = app_on_own_redis
    browser = Browser(url, owner)
    team = make_team(owner)
    sessions = [services.session_create(owner=owner, team=team, provider="scripted", max_turns=12)
                for _ in range(SESSIONS)]
    for s in sessions:
        assert browser.post(f"/sessions/{s.pk}/start/").status_code == 302
    late = services.session_create(owner=owner, team=team, provider="scripted", max_turns=4)
    steered = sessions[0]
    answers: list[tuple[str, int]] = []

    for outage in range(OUTAGES):
        wait_until(lambda: mid_turn(sessions), timeout=60, what="turns in flight")
        own_redis.kill()
        down_since = time.monotonic()
        if outage == 0:
            # The views a user clicks, while Redis is down: each change is saved and answered.
            for action in ("pause", "resume"):
                response = browser.post(f"/sessions/{steered.pk}/{action}/")
                answers.append((action, response.status_code))
                steered.refresh_from_db()
                assert steered.status == {"pause": "paused", "resume": "running"}[action]
            response = browser.post(f"/sessions/{late.pk}/start/")
            answers.append(("start", response.status_code))
            answers.append(("detail", browser.get(f"/sessions/{steered.pk}/").status_code))
            frames, code = browser.socket_first_frames(steered.pk)
            assert code == 4503, (frames, code)  # "try again later": the page reconnects on it
            assert "Live updates paused" in frames[0] and 'id="live-status"' in frames[0]
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
        assert worker.alive(), worker.output()[-3000:]
        own_redis.start()

    assert all(code in (200, 302) for _, code in answers), answers
    for s in [*sessions, late]:
        wait_until(lambda s=s: Session.objects.filter(pk=s.pk, status=Session.Status.FINISHED).exists(),
                   timeout=120, what=f"session {s.pk} to finish")
        assert_gapless(s)
        turns = message_turns(s)
        assert len(turns) == len(set(turns)), f"duplicated turn in session {s.pk}: {turns}"
        s.refresh_from_db()
        assert sorted(t for t, _ in turns) == list(range(s.next_turn))  # every turn, each once
    assert worker.alive()
    assert "Unrecoverable error" not in worker.output()

    # Back to normal: the page's reconnects (live.js backs off and retries on 4503) are accepted again
    # within seconds, with no notice, and the log caught up.
    deadline = time.monotonic() + 30
    frames, code = browser.socket_first_frames(steered.pk)
    while code == 4503 and time.monotonic() < deadline:
        time.sleep(1)
        frames, code = browser.socket_first_frames(steered.pk)
    assert code is None and not any("Live updates paused" in f for f in frames)
    last = Event.objects.filter(session=steered).order_by("-seq").first()
    assert any(re.search(rf'data-seq="{last.seq}"', f) for f in frames[1:])
