"""Who is watching a session, kept alive by heartbeats so that a socket whose
process died (SIGKILL, crash, lost network) drops out by itself.

Each open socket is one member `<username>|<channel name>` of a sorted set
per session, scored with the time it expires; its consumer renews it every
PRESENCE_TTL_SECONDS / 3. WATCHED is a sorted set of the ids of watched
sessions scored the same way, which workers read once a second to decide
whether cosmetic broadcasts (token deltas, typing, stats) are worth sending.
The scripts read Redis's own clock, so daphne processes on several machines
agree on what has expired.
"""

from django.conf import settings

from collab.control import aclient as _client

WATCHED = "collab:watched"

# Renew one socket, drop the expired ones, and return the members left.
_TOUCH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('EXPIRE', KEYS[1], math.ceil(ttl * 2))
redis.call('ZADD', KEYS[2], 'GT', now + ttl, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

# Leaving drops the session from WATCHED in the same step as its last live
# socket, so a join racing with it on another daphne process is never undone.
_LEAVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[2]) end
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

_ALIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""


def key(session_id: int) -> str:
    return f"collab:viewers:{session_id}"  # a sorted set; the old hash lived at collab:presence:<id>


def ttl_seconds() -> float:
    return float(settings.PRESENCE_TTL_SECONDS)


def _member(username: str, channel_name: str) -> str:
    return f"{username}|{channel_name}"


def _usernames(members) -> list[str]:
    return sorted({(m.decode() if isinstance(m, bytes) else m).rsplit("|", 1)[0] for m in members})


async def watched_ids() -> set[int]:
    return {int(x) for x in await _client().eval(_ALIVE, 1, WATCHED)}


async def names(session_id: int) -> list[str]:
    return _usernames(await _client().eval(_ALIVE, 1, key(session_id)))


async def touch(session_id: int, username: str, channel_name: str) -> list[str]:
    """Join or renew one socket; the names of everyone whose socket is alive.
    Raises when Redis does not answer: the caller decides what an outage means."""
    members = await _client().eval(_TOUCH, 2, key(session_id), WATCHED, _member(username, channel_name),
                                   ttl_seconds(), session_id)
    return _usernames(members)


async def leave(session_id: int, username: str, channel_name: str) -> list[str]:
    try:
        members = await _client().eval(_LEAVE, 2, key(session_id), WATCHED, _member(username, channel_name),
                                       session_id)
        return _usernames(members)
    except Exception:
        return []
