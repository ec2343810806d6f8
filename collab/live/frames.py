"""What the browser may send over the session socket, checked before anything
acts on it. A frame is a JSON object naming its `type` (hello) or `action`;
its fields have the types below. The htmx ws extension adds a HEADERS object
and the form's other inputs, so keys not listed are ignored.

A frame that does not fit raises BadFrame with a reason the user can read;
the consumer answers it with an `error` frame and stays open.
"""

import json
from dataclasses import dataclass, field

from django.conf import settings


class BadFrame(Exception):
    def __init__(self, reason: str, action: str | None = None):
        super().__init__(reason)
        self.action = action


@dataclass
class Frame:
    action: str
    fields: dict = field(default_factory=dict)


def _text(value, name: str, action: str, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadFrame(f"{name} must be text.", action)
    return value


def _optional_name(value, name: str, action: str) -> str | None:
    return _text(value, name, action) or None


def _texts(value, name: str, action: str) -> list[str]:
    """A form field that appears once (a string) or several times (a list of strings)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise BadFrame(f"{name} must be text or a list of texts.", action)
    return values


def _seq(value, action: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**31:
        raise BadFrame("last_seq must be a whole number from 0.", action)
    return value


def _no_fields(data: dict, action: str) -> dict:
    return {}


def _hello(data: dict, action: str) -> dict:
    return {"last_seq": _seq(data.get("last_seq"), action), "seat": _optional_name(data.get("seat"), "seat", action),
            "view_as": _optional_name(data.get("view_as"), "view_as", action)}


def _inject(data: dict, action: str) -> dict:
    return {"text": _text(data.get("text"), "text", action),
            "to_role": _optional_name(data.get("to_role"), "to_role", action)}


def _plan(data: dict, action: str) -> dict:
    fields = {name: _texts(data.get(name), name, action) for name in ("text", "owner", "status")}
    # Checked by the service, which refuses a missing or stale version with a readable reason.
    version = data.get("base_version")
    fields["base_version"] = version if isinstance(version, str | int) and not isinstance(version, bool) else None
    return fields


def _seat(data: dict, action: str) -> dict:
    return {"role": _text(data.get("role"), "role", action)}


def _say(data: dict, action: str) -> dict:
    return {"role": _text(data.get("role"), "role", action), "text": _text(data.get("text"), "text", action)}


FIELDS = {
    "hello": _hello,
    "start": _no_fields, "pause": _no_fields, "resume": _no_fields, "step": _no_fields, "stop": _no_fields,
    "inject": _inject,
    "edit_plan": _plan,
    "take_seat": _seat, "release_seat": _seat,
    "say": _say,
}
ACTIONS = sorted(set(FIELDS) - {"hello"})


def parse(text_data: str | None, bytes_data: bytes | None) -> Frame:
    if text_data is None:
        raise BadFrame("Binary frames are not accepted; send JSON text.")
    if len(text_data) > settings.WS_MAX_FRAME_CHARS:
        raise BadFrame(f"The frame is {len(text_data):,} characters; at most {settings.WS_MAX_FRAME_CHARS:,} are accepted.")
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):
        raise BadFrame("The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadFrame("The frame must be a JSON object.")
    action = data.get("type") or data.get("action")
    if not isinstance(action, str):
        raise BadFrame("The frame names no action: give \"type\": \"hello\" or an \"action\".")
    if action not in FIELDS:
        raise BadFrame(f"Unknown action {action[:40]!r}.", action[:40])
    return Frame(action, FIELDS[action](data, action))
