"""Every group_send of collab goes through here. Messages may be dropped by
the channel layer under load; clients heal gaps from the database by seq."""

import logging

from channels.layers import get_channel_layer

from collab import aio

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


def publish_event(session_id: int, event: dict) -> None:
    aio.submit(send(session_id, {"type": "log.event", "event": event}))


def publish_stats(session_id: int, stats: dict) -> None:
    aio.submit(send(session_id, {"type": "session.stats", "stats": stats}))
