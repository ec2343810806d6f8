"""Replay and the transcript: filters, text search, permalinks to the right
page, replay windows and chunks, and the model calls behind a message."""

import re

import pytest

from collab.engine.runner import inline, run_inline
from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions import services
from collab.sessions.models import LLMCall, Membership
from tests.engine_helpers import fake_profile, make_team
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def long_session(owner):
    return run_session(owner, pad_to=320, title="Long")


def test_permalink_opens_the_page_holding_the_event_highlighted(client, owner, long_session):
    client.force_login(owner)
    page = client.get(f"/sessions/{long_session.pk}/transcript/?seq=150").content.decode()
    assert "Page 2 of 4" in page and 'id="ev-150"' in page and 'id="ev-99"' not in page
    assert re.search(r'class="tx-row is-target">\s*<article id="ev-150"', page)
    assert 'data-target="ev-150"' in page and "js/transcript.js" in page  # scrolled to it (no inline script: CSP)
    # the live page keeps its last 300 events; an older link goes to the transcript
    response = client.get(f"/sessions/{long_session.pk}/?seq=5")
    assert response.status_code == 302 and response["Location"].endswith("/transcript/?seq=5#ev-5")
    assert "Page 1 of 4" in client.get(response["Location"]).content.decode()
    assert client.get(f"/sessions/{long_session.pk}/?seq=310").status_code == 200


def test_filters_and_search_narrow_the_transcript(client, owner, long_session):
    client.force_login(owner)
    base = f"/sessions/{long_session.pk}/transcript/"
    votes = client.get(base + "?kind=vote").content.decode()
    vote_seqs = list(long_session.events.filter(kind="vote").values_list("seq", flat=True))
    action_seqs = list(long_session.events.filter(kind="action").values_list("seq", flat=True))
    assert all(f'id="ev-{seq}"' in votes for seq in vote_seqs) and vote_seqs
    assert not any(f'id="ev-{seq}"' in votes for seq in action_seqs) and "Page 1 of 1" not in votes
    whispers = client.get(base + "?role=coder&q=between+us").content.decode()
    assert "psst, between us" in whispers and "cap the catch" not in whispers
    count = long_session.events.filter(actor="coder", payload__text__icontains="between us").count()
    assert f"{count} of {long_session.last_seq} events match" in whispers
    turn = client.get(base + "?round=100").content.decode()
    assert turn.count('class="tx-row') == long_session.events.filter(turn_index=100).count() == 6
    none = client.get(base + "?q=no+such+words+anywhere").content.decode()
    assert "No event matches these filters." in none
    # a permalink to an event the filters hide still opens it
    hidden = client.get(base + "?kind=vote&seq=2").content.decode()
    assert re.search(r'class="tx-row is-target">\s*<article id="ev-2"', hidden)
    # a later page keeps the filters in its links
    many = client.get(base + "?kind=message").content.decode()
    assert "?kind=message&amp;page=2" in many


def test_replay_page_opens_at_a_position_and_serves_chunks(client, owner, long_session):
    client.force_login(owner)
    url = f"/research/sessions/{long_session.pk}/replay/"
    page = client.get(url + "?at=300").content.decode()
    assert 'id="ev-300"' in page and 'id="ev-301"' not in page and 'data-at="300"' in page
    assert 'id="ev-241"' in page and 'id="ev-240"' not in page  # a window of 60, not the whole log
    assert 'data-at="42"' in client.get(url + "?seq=42").content.decode()  # an event's own link
    assert 'class="mark mark-intervention"' in page and 'class="mark mark-vote"' in page
    assert 'class="mark mark-round"' in page
    start = client.get(url).content.decode()
    assert 'data-at="0"' in start and "Press play" in start
    after = client.get(url + "events/?after=300&limit=10")
    assert after["X-Last-Seq"] == "320"
    body = after.content.decode()
    assert 'id="ev-301"' in body and 'id="ev-310"' in body and 'id="ev-311"' not in body
    upto = client.get(url + "events/?upto=50&limit=5").content.decode()
    assert 'id="ev-46"' in upto and 'id="ev-50"' in upto and 'id="ev-45"' not in upto
    assert client.get(url + "?at=99999").context["at"] == 320
    assert client.get(url + "?at=junk").context["at"] == 0


def test_model_calls_behind_a_message_for_members_who_may_see_them(client, owner, participant, outsider, monkeypatch):
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test")
    with run_in_thread(FakeServerConfig(reply="Cap the catch at ten.")) as server:
        session = services.session_create(owner=owner, team=make_team(owner, profile=fake_profile(server)),
                                          provider="openai", max_turns=2)
        with inline():
            services.session_start(session=session, user=owner)
            run_inline(session.pk)
    message = session.events.filter(kind="message", actor="analyst").first()
    call = LLMCall.objects.filter(session=session, actor="analyst").first()
    assert message and call
    client.force_login(owner)
    transcript = client.get(f"/sessions/{session.pk}/transcript/").content.decode()
    url = f"/research/sessions/{session.pk}/events/{message.seq}/calls/"
    assert f'href="{url}"' in transcript
    page = client.get(url).content.decode()
    assert "fake-model" in page and "Cap the catch at ten." in page and "You are the analyst." in page
    assert "temperature" in page and "ms" in page and "sk-test" not in page
    services.membership_add(session=session, by=owner, user=participant, capacity=Membership.Capacity.PARTICIPANT)
    client.force_login(participant)
    assert client.get(url).status_code == 404  # a seat holder sees what its role saw, not every prompt
    assert url not in client.get(f"/sessions/{session.pk}/transcript/").content.decode()
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_dense_sessions_get_merged_scrubber_marks(client, owner):
    dense = run_session(owner, pad_to=1200, title="Dense")
    client.force_login(owner)
    page = client.get(f"/research/sessions/{dense.pk}/replay/").content.decode()
    marks = re.findall(r'<button type="button" class="mark mark-(\w+)" style="left: ([\d.]+)%" data-seq="(\d+)" title="([^"]+)"', page)
    assert 100 < len(marks) <= 200
    assert all(0 <= float(left) <= 100 for _, left, _, _ in marks)
    assert any("intervention" in title and "vote" in title for _, _, _, title in marks)
    assert {kind for kind, _, _, _ in marks} == {"intervention"}  # the most notable kind leads each slot
    # Reachable by keyboard as one tab stop, each named for a screen reader.
    assert page.count('tabindex="0"></button>') == 1 and page.count('aria-label="Jump to #') == len(marks)
