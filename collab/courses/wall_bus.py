"""Messages for instructors' walls that are not session events (a help flag)."""

from channels.layers import get_channel_layer
from django.db import transaction

from collab import aio


def group_name(assignment_id: int) -> str:
    return f"course-wall-{assignment_id}"


async def _send(assignment_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group_name(assignment_id), message)


def publish_help(link) -> None:
    message = {"type": "wall.help", "session_id": link.session_id, "help": bool(link.help_requested_at),
               "note": link.help_note}
    assignment_id = link.assignment_id
    transaction.on_commit(lambda: aio.submit(_send(assignment_id, message)))
