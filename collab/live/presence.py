"""Who is watching a session: a Redis hash of username -> open sockets."""

from collab.control import aclient as _client


def key(session_id: int) -> str:
    return f"collab:presence:{session_id}"


async def _names(session_id: int) -> list[str]:
    raw = await _client().hgetall(key(session_id))
    return sorted(k.decode() for k, v in raw.items() if int(v) > 0)


async def join(session_id: int, username: str) -> list[str]:
    try:
        await _client().hincrby(key(session_id), username, 1)
        await _client().expire(key(session_id), 86400)
        return await _names(session_id)
    except Exception:
        return [username]


async def leave(session_id: int, username: str) -> list[str]:
    try:
        if await _client().hincrby(key(session_id), username, -1) <= 0:
            await _client().hdel(key(session_id), username)
        return await _names(session_id)
    except Exception:
        return []
