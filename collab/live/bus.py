"""Every group_send of collab goes through here. Messages may be dropped by
the channel layer under load; clients heal gaps from the database by seq."""

import logging
import time

from channels.layers import get_channel_layer

from collab import aio, control
from collab.live import presence

log = logging.getLogger(__name__)


def group_name(session_id: int) -> str:
    return f"session-{session_id}"


async def send(session_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group_name(session_id), message)
    except Exception as exc:  # a lost broadcast is healed by catch-up; never fail a turn for it
        log.warning("broadcast to session %s failed: %s", session_id, exc)


WATCH_TTL_SECONDS = 1.0
_watched: dict[int, tuple[float, bool]] = {}


async def watched(session_id: int) -> bool:
    """Whether anyone has the session open, checked at most once a second per
    process. Token deltas, typing bubbles and stats are sent only then; log
    events always go out (a page that opens later catches up from the
    database either way)."""
    now = time.monotonic()
    cached = _watched.get(session_id)
    if cached and cached[0] > now:
        return cached[1]
    try:
        value = bool(await control.aclient().exists(presence.key(session_id)))
    except Exception:
        value = True
    _watched[session_id] = (now + WATCH_TTL_SECONDS, value)
    return value


async def send_if_watched(session_id: int, message: dict) -> None:
    if await watched(session_id):
        await send(session_id, message)


def publish_event(session_id: int, event: dict) -> None:
    aio.submit(send(session_id, {"type": "log.event", "event": event}))


def publish_stats(session_id: int, stats: dict) -> None:
    aio.submit(send_if_watched(session_id, {"type": "session.stats", "stats": stats}))
