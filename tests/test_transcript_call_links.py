"""The transcript links "prompt and model calls" only on messages that have
model calls behind them: none on an imported session, each one on a run."""

import io
import re

import pytest

from collab.sessions.models import LLMCall, Session
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_call_links_only_where_calls_exist(client, owner):
    session = run_session(owner, max_turns=4, pad_to=60, title="Run")
    client.force_login(owner)
    with_calls = {(t, a) for t, a in LLMCall.objects.filter(session=session).values_list("turn_index", "actor")}
    expected = sorted(e.seq for e in session.events.all() if (e.turn_index, e.actor) in with_calls)
    page = client.get(f"/sessions/{session.pk}/transcript/").content.decode()
    linked = sorted(int(s) for s in re.findall(r'/events/(\d+)/calls/">prompt and model calls', page))
    assert linked == expected and expected
    # The padded messages (no model behind them) get no link.
    padded = session.events.filter(kind="message", turn_index__gte=100).first()
    assert padded.seq not in linked

    body = b"".join(client.get(f"/research/sessions/{session.pk}/export/?format=jsonl").streaming_content)
    upload = io.BytesIO(body)
    upload.name = "run.jsonl"
    client.post("/research/import/", {"file": upload})
    imported = Session.objects.latest("pk")
    assert imported.pk != session.pk and not LLMCall.objects.filter(session=imported).exists()
    assert "prompt and model calls" not in client.get(f"/sessions/{imported.pk}/transcript/").content.decode()
