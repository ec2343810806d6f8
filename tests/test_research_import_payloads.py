"""Import checks the payload fields the pages read: a message whose text is
a number is refused through the upload page, and nothing is written, so span
coding never meets it."""

import io
import json

import pytest

from collab.sessions.models import Event, Session
from tests.research_helpers import PAD_KINDS


def transcript(*payloads) -> bytes:
    head = {"type": "header", "schema": "collab.transcript", "version": 1, "session": {"title": "Shapes"},
            "team": {"roles": [{"name": "analyst"}, {"name": "coder"}, {"name": "tester"}]}}
    lines = [head] + [{"type": "event", "seq": i, **p} for i, p in enumerate(payloads, start=1)]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def upload(client, data: bytes):
    file = io.BytesIO(data)
    file.name = "t.jsonl"
    return client.post("/research/import/", {"file": file}, follow=True).content.decode()


@pytest.mark.django_db
def test_a_number_as_message_text_is_refused_by_the_upload_page(client, owner):
    client.force_login(owner)
    bad = transcript(PAD_KINDS[0], {"kind": "message", "actor": "coder", "payload": {"text": 12345}})
    page = upload(client, bad)
    assert "Not imported: line 3 payload: field &#x27;text&#x27; must be a string, not int" in page
    assert not Session.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_every_kind_the_app_writes_still_imports(client, owner):
    client.force_login(owner)
    plan = {"kind": "plan", "actor": "system", "payload": {
        "plan": {"steps": [{"text": "sketch", "status": "todo"}], "version": 1},
        "diff": [{"op": "add", "index": 0, "after": {"text": "sketch", "status": "todo"}}], "why": "start"}}
    tally = {"kind": "tally", "actor": "system", "payload": {"tally": {"B": 1}, "winner": "B", "text": "B wins"}}
    state = {"kind": "state", "actor": "system", "payload": {"status": "finished", "reason": "", "text": "done"}}
    abstain = {"kind": "vote", "actor": "coder", "payload": {"vote": None, "reason": "abstained", "abstained": True}}
    upload(client, transcript(*PAD_KINDS, plan, tally, state, abstain))
    assert Session.objects.get().last_seq == len(PAD_KINDS) + 4
