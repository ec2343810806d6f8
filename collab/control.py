"""Engine control keys in Redis: a halt flag that cuts in-flight streams on
pause or stop, read by the worker thread waiting on a turn."""

import asyncio
import json
import threading

import redis
import redis.asyncio as aioredis
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


async def append_turn_text(session_id: int, turn: int, actor: str, text: str) -> None:
    """The text streamed so far, for pages that connect mid-reply."""
    try:
        key = turn_text_key(session_id, turn, actor)
        async with aclient().pipeline(transaction=False) as pipe:
            await pipe.append(key, text).expire(key, settings.TURN_LEASE_SECONDS * 4).execute()
    except redis.RedisError:
        pass


async def clear_turn_text(session_id: int, turn: int, actor: str) -> None:
    try:
        await aclient().delete(turn_text_key(session_id, turn, actor))
    except redis.RedisError:
        pass


async def turn_texts(session_id: int, turn: int, actors: list[str]) -> dict[str, str]:
    try:
        values = await aclient().mget([turn_text_key(session_id, turn, a) for a in actors])
    except redis.RedisError:
        return {}
    return {a: v.decode() for a, v in zip(actors, values, strict=True) if v}
