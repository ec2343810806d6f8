"""Engine control keys in Redis: a halt flag that cuts in-flight streams on
pause or stop, read by the worker thread waiting on a turn."""

import asyncio
import json
import logging
import threading

import redis
import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)
_local = threading.local()
HALT_TTL_SECONDS = 3600


def client() -> redis.Redis:
    conn = getattr(_local, "client", None)
    if conn is None or getattr(_local, "url", None) != settings.CONTROL_REDIS_URL:
        conn = redis.Redis.from_url(settings.CONTROL_REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
        _local.client, _local.url = conn, settings.CONTROL_REDIS_URL
    return conn


def halt_key(session_id: int) -> str:
    return f"collab:halt:{session_id}"


HALT_CHANNEL = "collab:halt"


def set_halt(session_id: int) -> None:
    """Flag the session halted and tell every worker at once (pub/sub): a
    stream in flight stops within milliseconds, without any polling."""
    try:
        client().set(halt_key(session_id), "1", ex=HALT_TTL_SECONDS)
        client().publish(HALT_CHANNEL, str(session_id))
    except redis.RedisError as exc:
        # Called after the pause or stop is committed: that stands. The turn in
        # flight finds the session's status at its commit and keeps nothing.
        log.warning("halt of session %s not published (%s)", session_id, exc)


def clear_halt(session_id: int) -> None:
    try:
        client().delete(halt_key(session_id))
    except redis.RedisError:
        pass


def halted(session_id: int) -> bool:
    try:
        return bool(client().exists(halt_key(session_id)))
    except redis.RedisError:
        return False  # no Redis, no halt flag: the commit still sees the session's status


class HaltWatcher:
    """One subscriber thread per process sets the halt events of the turns
    running here. A missed message (a reconnect) is caught by the turn's
    heartbeat, which reads the halt key too."""

    def __init__(self):
        self._lock = threading.Lock()
        self._events: dict[int, set[threading.Event]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, session_id: int, event: threading.Event) -> None:
        with self._lock:
            self._events.setdefault(session_id, set()).add(event)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="collab-halt", daemon=True)
                self._thread.start()
        # A halt published in the few milliseconds between the claim and this
        # call is caught by the heartbeat's key check, and the commit sees the
        # session's status whatever happens.

    def unwatch(self, session_id: int, event: threading.Event) -> None:
        with self._lock:
            events = self._events.get(session_id, set())
            events.discard(event)
            if not events:
                self._events.pop(session_id, None)

    def _listen(self) -> None:
        import time

        while True:
            try:
                pubsub = redis.Redis.from_url(settings.CONTROL_REDIS_URL).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(HALT_CHANNEL)
                for message in pubsub.listen():
                    with self._lock:
                        events = list(self._events.get(int(message["data"]), ()))
                    for event in events:
                        event.set()
            except (redis.RedisError, ValueError):
                time.sleep(1)


halt_watcher = HaltWatcher()
_async_clients: dict[int, aioredis.Redis] = {}


def aclient() -> aioredis.Redis:
    """An async client for the running loop (a client's pool belongs to one loop)."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _async_clients:
        _async_clients[loop_id] = aioredis.Redis.from_url(settings.CONTROL_REDIS_URL)
    return _async_clients[loop_id]


def turn_key(session_id: int) -> str:
    return f"collab:turn:{session_id}"


async def set_turn_in_flight(session_id: int, info: dict) -> None:
    """So a page that connects mid-turn can show the typing bubbles at once."""
    try:
        await aclient().set(turn_key(session_id), json.dumps(info), ex=settings.TURN_LEASE_SECONDS * 4)
    except redis.RedisError:
        pass


async def turn_in_flight(session_id: int) -> dict | None:
    try:
        raw = await aclient().get(turn_key(session_id))
    except redis.RedisError:
        return None
    return json.loads(raw) if raw else None


def turn_text_key(session_id: int, turn: int, actor: str) -> str:
    return f"collab:turntext:{session_id}:{turn}:{actor}"


async def save_turn_text(session_id: int, turn: int, actor: str, text: str, *, first: bool) -> None:
    """The text streamed so far, for pages that connect mid-reply. The first
    piece of an attempt replaces what an earlier (failed) attempt left."""
    key = turn_text_key(session_id, turn, actor)
    try:
        if first:
            await aclient().set(key, text, ex=settings.TURN_LEASE_SECONDS * 4)
        else:
            await aclient().append(key, text)
    except redis.RedisError:
        pass


async def turn_texts(session_id: int, turn: int, actors: list[str]) -> dict[str, str]:
    try:
        values = await aclient().mget([turn_text_key(session_id, turn, a) for a in actors])
    except redis.RedisError:
        return {}
    return {a: v.decode() for a, v in zip(actors, values, strict=True) if v}
