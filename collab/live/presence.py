"""Who is watching a session: a Redis hash of username -> open sockets, and
one set of the ids of the sessions that someone watches (WATCHING), which
workers read once a second to decide whether cosmetic broadcasts (token
deltas, typing, stats) are worth sending."""

from collab.control import aclient as _client

WATCHING = "collab:watching"

# Leaving drops the session from WATCHING in the same step as its last socket,
# so a join racing with it on another daphne process is never undone.
_LEAVE = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n
"""


def key(session_id: int) -> str:
    return f"collab:presence:{session_id}"


async def watched_ids() -> set[int]:
    return {int(x) for x in await _client().smembers(WATCHING)}


async def _names(session_id: int) -> list[str]:
    raw = await _client().hgetall(key(session_id))
    return sorted(k.decode() for k, v in raw.items() if int(v) > 0)


async def join(session_id: int, username: str) -> list[str]:
    try:
        async with _client().pipeline(transaction=True) as pipe:
            pipe.hincrby(key(session_id), username, 1)
            pipe.expire(key(session_id), 86400)
            pipe.sadd(WATCHING, session_id)
            await pipe.execute()
        return await _names(session_id)
    except Exception:
        return [username]


async def leave(session_id: int, username: str) -> list[str]:
    try:
        await _client().eval(_LEAVE, 2, key(session_id), WATCHING, username, session_id)
        return await _names(session_id)
    except Exception:
        return []
