"""Engine control keys in Redis: a halt flag that cuts in-flight streams on
pause or stop, read by the worker thread waiting on a turn."""

import threading

import redis
from django.conf import settings

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


def set_halt(session_id: int) -> None:
    client().set(halt_key(session_id), "1", ex=HALT_TTL_SECONDS)


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
