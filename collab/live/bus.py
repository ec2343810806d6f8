"""Every group_send of collab goes through here. Messages may be dropped by
the channel layer under load; clients heal gaps from the database by seq."""

import asyncio
import logging
import time

from channels.layers import get_channel_layer

from collab import aio
from collab.live import presence

log = logging.getLogger(__name__)


def group_name(session_id: int) -> str:
    return f"session-{session_id}"


_muted = False  # set by a process that has said once that live pages will not update
_failing = False  # inside an outage: its first failure was logged, the rest are not


def mute() -> None:
    """Send nothing from this process (an inline run that found no Redis and said so)."""
    global _muted
    _muted = True


async def send(session_id: int, message: dict) -> None:
    global _failing
    layer = get_channel_layer()
    if layer is None or _muted:
        return
    try:
        # The session id rides along for pages that watch many sessions at once (a course's wall).
        await layer.group_send(group_name(session_id), {**message, "session_id": session_id})
    except Exception as exc:  # a lost broadcast is healed by catch-up; never fail a turn for it
        if not _failing:  # one line per outage, not one per event
            _failing = True
            log.warning("broadcasts failed (session %s): %s; live pages will not update until Redis answers "
                        "(later failures are not logged)", session_id, exc)
    else:
        if _failing:
            _failing = False
            log.warning("broadcasts work again; open pages catch up from the log")


WATCH_TTL_SECONDS = 1.0
_snapshot: tuple[float, set[int] | None] = (0.0, None)  # (expires, watched ids; None: unknown, assume watched)
_loading: asyncio.Task | None = None


async def watched(session_id: int) -> bool:
    """Whether anyone has the session open. The process reads the set of
    watched sessions at most once a second (one Redis call, shared by every
    turn in flight here), so the check costs a set lookup. Token deltas,
    typing bubbles and stats are sent only then; log events always go out (a
    page that opens later catches up from the database either way)."""
    expires, ids = _snapshot
    if time.monotonic() >= expires:
        ids = await _reload()
    return ids is None or session_id in ids


async def _reload() -> set[int] | None:
    global _loading
    loop = asyncio.get_running_loop()
    if _loading is None or _loading.done() or _loading.get_loop() is not loop:
        _loading = loop.create_task(_load())
    return await asyncio.shield(_loading)


async def _load() -> set[int] | None:
    global _snapshot
    try:
        ids = await presence.watched_ids()
    except Exception:
        ids = None  # no Redis: send everything rather than hide a session from its watchers
    _snapshot = (time.monotonic() + WATCH_TTL_SECONDS, ids)
    return ids


async def send_if_watched(session_id: int, message: dict) -> None:
    if await watched(session_id):
        await send(session_id, message)


def publish_event(session_id: int, event: dict) -> None:
    aio.submit(send(session_id, {"type": "log.event", "event": event}))


def publish_access_changed(session_id: int) -> None:
    """Every open socket of the session re-checks its viewer's access."""
    aio.submit(send(session_id, {"type": "access.changed"}))


def publish_stats(session_id: int, stats: dict) -> None:
    aio.submit(send_if_watched(session_id, {"type": "session.stats", "stats": stats}))
