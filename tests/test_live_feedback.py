"""Feedback next to the control used (issue 10 item 15): inject, whisper and
take seat answer where the user clicked, over the socket and over HTTP."""

import json

import pytest
from channels.db import database_sync_to_async

from collab.sessions import services
from tests.engine_helpers import make_team
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(owner):
    return services.session_create(owner=owner, team=make_team(owner))


def feedback(frames: list[str], target: str) -> str:
    found = [f for f in frames if f'<p id="{target}" hx-swap-oob="true"' in f]
    assert len(found) == 1, frames
    return found[0]


async def test_inject_whisper_and_seat_answer_next_to_their_control(session, owner):
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    await comm.send_to(text_data=json.dumps({"action": "inject", "text": "Hello team"}))
    assert "Sent to everyone." in feedback(await receive_all(comm), "inject-feedback")
    await comm.send_to(text_data=json.dumps({"action": "inject", "text": "psst", "to_role": "coder"}))
    assert "Whispered to coder." in feedback(await receive_all(comm), "inject-feedback")
    await comm.send_to(text_data=json.dumps({"action": "take_seat", "role": "tester"}))
    assert "You now play tester." in feedback(await receive_all(comm), "seat-feedback")
    # A refusal is said in the page's flash and in the answer live.js shows next to the control.
    await comm.send_to(text_data=json.dumps({"action": "take_seat", "role": "coder"}))
    frames = await receive_all(comm)
    assert any(json.loads(f).get("type") == "refused" for f in frames if f.startswith("{"))
    assert not any('id="seat-feedback"' in f for f in frames)
    await comm.disconnect()


async def test_plain_http_doors_say_what_they_did(client, session, owner):
    await database_sync_to_async(client.force_login)(owner)

    def post(path, data):
        return client.post(f"/sessions/{session.pk}/{path}/", data, follow=True).content.decode()

    assert "Sent to everyone." in await database_sync_to_async(post)("inject", {"text": "hi"})
    assert "Whispered to coder." in await database_sync_to_async(post)("inject", {"text": "hi", "to_role": "coder"})
    assert "You now play tester." in await database_sync_to_async(post)("take_seat", {"role": "tester"})
