"""Transcript search finds what a reader sees, not only `payload.text`: a
vote's reason and choice, an action's content, a plan's reason and steps."""

import pytest
from django.db import transaction

from collab.sessions import events as log
from collab.sessions import services
from tests.engine_helpers import make_team

EVENTS = [
    {"kind": "message", "actor": "analyst", "payload": {"text": "Opening words"}},
    {"kind": "vote", "actor": "coder", "payload": {"vote": "Bicycle shed", "reason": "cheapest to maintain"}},
    {"kind": "action", "actor": "tester", "payload": {"action": {"catch": 4, "message": "leaving fish for winter"}}},
    {"kind": "action", "actor": "analyst", "payload": {"action": {"proposal": "A roof", "sections": {"Budget": "under ten grand"}}}},
    {"kind": "plan", "actor": "system", "payload": {
        "plan": {"steps": [{"text": "pour the concrete slab", "status": "todo"}], "version": 1},
        "diff": [{"op": "add", "index": 0, "after": {"text": "pour the concrete slab", "status": "todo"}}],
        "why": "foundations first"}},
    {"kind": "intervention", "actor": "user:owner", "payload": {"action": "pause", "text": "owner paused."}},
]


@pytest.fixture
def session(owner):
    session = services.session_create(owner=owner, team=make_team(owner))
    with transaction.atomic():
        log.append_many(log.lock_session(session.pk), EVENTS)
    return session


def found(client, session, q) -> list[int]:
    page = client.get(f"/sessions/{session.pk}/transcript/", {"q": q}).content.decode()
    return [seq for seq in range(1, len(EVENTS) + 1) if f'id="ev-{seq}"' in page]


@pytest.mark.django_db
@pytest.mark.parametrize("q, seqs", [
    ("CHEAPEST", [2]),  # a vote's reason
    ("bicycle", [2]),  # a vote's choice
    ("fish for winter", [3]),  # an action's message
    ("ten grand", [4]),  # a proposal's section
    ("concrete", [5]),  # a plan's step
    ("foundations", [5]),  # a plan's reason
    ("opening", [1]),
    ("paused", [6]),
    ("catch", [3]),  # an action's field name is shown ("catch 4")
])
def test_search_finds_the_text_a_reader_sees(client, owner, session, q, seqs):
    client.force_login(owner)
    assert found(client, session, q) == seqs
