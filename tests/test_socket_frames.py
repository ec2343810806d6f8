"""Every frame a browser (or anyone with a socket) sends gets its effect or an
answer saying why not, and the socket stays open: a corpus of malformed
frames sent over the real ASGI application, then a well-formed one."""

import json

import pytest
from channels.db import database_sync_to_async

from collab.live import presence
from collab.sessions import services
from collab.sessions.models import Event, Membership
from tests.engine_helpers import make_team
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = "x" * 300_000
DEEP = "[" * 100_000 + "]" * 100_000

# (label, raw text frame). Each is answered with an error or a refusal.
MALFORMED = [
    ("null", "null"),
    ("list", "[1]"),
    ("number", "42"),
    ("string", '"hello"'),
    ("true", "true"),
    ("blank text", "   "),
    ("not json", "hello there"),
    ("truncated json", '{"type": "hello"'),
    ("nan", '{"type": NaN}'),
    ("deeply nested", DEEP),
    ("huge frame", json.dumps({"action": "inject", "text": HUGE})),
    ("empty object", "{}"),
    ("type is a number", '{"type": 42}'),
    ("type is a list", '{"type": ["hello"]}'),
    ("action is an object", '{"action": {"x": 1}}'),
    ("unknown action", '{"action": "drop_tables"}'),
    ("dunder action", '{"action": "__init__"}'),
    ("handler name as action", '{"action": "log_event"}'),
    ("last_seq is text", '{"type": "hello", "last_seq": "abc"}'),
    ("last_seq is negative", '{"type": "hello", "last_seq": -5}'),
    ("last_seq is a float", '{"type": "hello", "last_seq": 1.5}'),
    ("last_seq is a list", '{"type": "hello", "last_seq": [1]}'),
    ("last_seq is huge", '{"type": "hello", "last_seq": 1e400}'),
    ("last_seq is bool", '{"type": "hello", "last_seq": true}'),
    ("seat is a list", '{"type": "hello", "seat": ["coder"]}'),
    ("text is a dict", '{"action": "inject", "text": {"a": 1}}'),
    ("text is a list", '{"action": "inject", "text": ["a", "b"]}'),
    ("text is a number", '{"action": "inject", "text": 7}'),
    ("to_role is a list", '{"action": "inject", "text": "hi", "to_role": ["coder"]}'),
    ("role is a number", '{"action": "take_seat", "role": 3}'),
    ("role is null-ish object", '{"action": "release_seat", "role": {}}'),
    ("say text is a list", '{"action": "say", "role": "coder", "text": ["x"]}'),
    ("plan text is a dict", '{"action": "edit_plan", "text": {"0": "step"}}'),
    ("plan owners are numbers", '{"action": "edit_plan", "text": ["a"], "owner": [1], "status": ["todo"]}'),
    ("plan status unknown", '{"action": "edit_plan", "text": ["a"], "owner": [""], "status": ["exploded"]}'),
    ("inject empty text", '{"action": "inject", "text": ""}'),
    ("inject to a missing role", '{"action": "inject", "text": "hi", "to_role": "nobody"}'),
    ("seat of a missing role", '{"action": "take_seat", "role": "nobody"}'),
    ("say without a seat", '{"action": "say", "role": "coder", "text": "hi"}'),
    ("pause a draft", '{"action": "pause"}'),
    ("resume a draft", '{"action": "resume"}'),
    ("inject 1 MB", json.dumps({"action": "inject", "text": "y" * 1_000_000})),
]


@pytest.fixture
def session(owner):
    return services.session_create(owner=owner, team=make_team(owner))


def answers(frames: list[str]) -> list[dict]:
    return [json.loads(f) for f in frames if f.startswith("{")]


async def test_every_malformed_frame_is_answered_and_the_socket_stays_open(session, owner, participant):
    await database_sync_to_async(services.membership_add)(session=session, by=owner, user=participant,
                                                          capacity=Membership.Capacity.OBSERVER)
    watcher = await connect(session.pk, participant)
    assert (await watcher.connect())[0]
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await receive_all(comm, 0.3)
    await receive_all(watcher, 0.3)

    mishandled = []
    for label, raw in MALFORMED:
        await comm.send_to(text_data=raw)
        got = answers(await receive_all(comm, 0.3))
        if len(got) != 1 or got[0]["type"] not in {"error", "refused"} or not got[0]["reason"]:
            mishandled.append((label, got))
    await comm.send_to(bytes_data=b"\x00\x01binary")
    got = answers(await receive_all(comm, 0.3))
    if len(got) != 1 or got[0]["type"] != "error":
        mishandled.append(("binary frame", got))
    print(f"malformed frames tried: {len(MALFORMED) + 1}, mishandled: {len(mishandled)}")
    assert mishandled == []

    # Nothing was written, the socket still works, and both viewers are still present, once each.
    assert await Event.objects.filter(session=session).acount() == 0
    await comm.send_to(text_data=json.dumps({"action": "inject", "text": "still here"}))
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": "0"}))
    frames = "".join(await receive_all(comm, 0.5))
    assert "still here" in frames
    assert await presence.names(session.pk) == ["owner", "participant"]
    await comm.disconnect()
    await watcher.disconnect()
    assert await presence.names(session.pk) == []


async def test_answers_name_the_problem(session, owner):
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await receive_all(comm, 0.3)
    cases = {
        "null": "must be a JSON object",
        '{"type": "hello", "last_seq": "abc"}': "last_seq must be a whole number",
        '{"action": "inject", "text": {"a": 1}}': "text must be text",
        "nonsense": "not valid JSON",
        '{"action": "fly"}': "Unknown action 'fly'",
    }
    for raw, reason in cases.items():
        await comm.send_to(text_data=raw)
        frames = await receive_all(comm, 0.3)
        (answer,) = answers(frames)
        assert answer["type"] == "error" and reason in answer["reason"]
        assert any('id="live-flash"' in f and reason.split("'")[0] in f for f in frames)  # the page shows it too
    await comm.disconnect()
