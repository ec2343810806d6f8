"""NUL bytes and lone surrogates, which PostgreSQL refuses, are cleaned where
text comes in: model replies (both providers, free text and JSON) and human
input (inject, plan edit, seat message; over HTTP and the socket). Run on
PostgreSQL to see the refusal these tests guard against:
DATABASE_URL=postgres://...  pytest tests/test_nul_bytes.py"""

import json
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client

from collab.engine import calls
from collab.engine.protocols.base import Turn
from collab.llm.base import ChatRequest
from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions import events, services
from collab.sessions.models import Event, LLMCall, Session
from tests.engine_helpers import fake_profile, make_team, start, wait_for
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)
DIRTY = "before\x00after \ud800 end"
CLEAN = "beforeafter \ufffd end"
SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}, "choice": {"type": "string"}},
          "required": ["message", "choice"]}


def test_a_model_reply_with_nul_does_not_fail_the_session(owner, worker):
    with run_in_thread(FakeServerConfig(reply=DIRTY)) as server:
        session = start(owner, make_team(owner, profile=fake_profile(server)), provider="openai", max_turns=3)
        session = wait_for(session)
    assert session.status == "finished", session.end_reason
    texts = list(Event.objects.filter(session=session, kind="message").values_list("payload__text", flat=True))
    assert texts == [CLEAN] * 3
    assert list(LLMCall.objects.filter(session=session).values_list("response", flat=True)) == [CLEAN] * 3


@pytest.mark.parametrize("provider", ["scripted", "openai"])
def test_both_providers_clean_free_text_and_json(owner, provider):
    """One call through the real provider, recorded and logged as the runner does."""
    session = services.session_create(owner=owner, team=make_team(owner))
    json_reply = json.dumps({"message": "vote\x00 for A", "choice": "A\ud800"})
    with run_in_thread(FakeServerConfig(replies=[DIRTY, json_reply])) as server:
        outcomes = []
        for reply, schema in ((DIRTY, None), (json_reply, SCHEMA)):
            if provider == "scripted":
                request = ChatRequest(messages=[], model="scripted", scripted_reply=reply,
                                      scripted_tokens_per_second=0)
            else:
                request = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="fake-model",
                                      base_url=server.base_url, api_key_env="FAKE_OPENAI_KEY", timeout=5,
                                      json_mode=schema is not None)
            call = calls.AgentCall(actor="coder", request=request, turn=Turn(actors=["coder"]), default=dict,
                                   schema=schema)
            outcomes.append(_run(calls.run_one(session.pk, 0, call, threading.Event())))
    text, structured = outcomes
    assert text.output.text == CLEAN
    assert structured.output.data == {"message": "vote for A", "choice": "A\ufffd"}
    with transaction.atomic():
        locked = events.lock_session(session.pk)
        LLMCall.objects.bulk_create(r for o in outcomes for r in o.records(locked, 0))
        events.append(locked, kind="message", actor="coder", payload={"text": text.output.text})
        events.append(locked, kind="action", actor="coder", payload={"action": structured.output.data})
    assert Event.objects.filter(session=session).count() == 2


def _run(coro):
    import asyncio

    from collab import aio

    return asyncio.run_coroutine_threadsafe(coro, aio.loop()).result(30)


def test_human_input_over_http_is_cleaned_not_a_500(owner):
    session = services.session_create(owner=owner, team=make_team(owner))
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    base = f"/sessions/{session.pk}"
    response = client.post(f"{base}/inject/", {"text": "hello\x00 team"})
    assert response.status_code == 302
    response = client.post(f"{base}/inject/", {"text": "psst\x00", "to_role": "coder"})
    assert response.status_code == 302
    response = client.post(f"{base}/edit_plan/", {"text": ["step\x00 one", "two"], "owner": ["coder\x00", ""],
                                                  "status": ["todo", "doing"], "base_version": "0"})
    assert response.status_code == 302
    texts = [e.payload.get("text") for e in Event.objects.filter(session=session).order_by("seq")]
    assert texts[:2] == ["hello team", "psst"]
    plan = Session.objects.get(pk=session.pk).state["plan"]
    assert [s["text"] for s in plan["steps"]] == ["step one", "two"]
    assert plan["steps"][0]["owner"] == "coder"  # the owner field is cleaned before it is matched to a role
    # A message of only NUL is empty: refused with a reason, nothing written.
    before = session.events.count()
    response = client.post(f"{base}/inject/", {"text": "\x00\x00"}, follow=True)
    assert "The message is empty." in response.content.decode()
    assert session.events.count() == before


def test_seat_message_with_nul_is_the_roles_turn(owner, worker):
    session = start(owner, make_team(owner), human_seats=["analyst"], max_turns=2)
    wait_for(session, statuses=("awaiting_human",))
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.post(f"/sessions/{session.pk}/say/", {"role": "analyst", "text": "my\x00 turn"})
    assert response.status_code == 302
    session = wait_for(session)
    said = Event.objects.get(session=session, kind="message", actor="analyst")
    assert said.payload["text"] == "my turn" and said.payload["human"] == "owner"


async def test_human_input_over_the_socket_is_cleaned(owner):
    session = await database_sync_to_async(_session)(owner)
    comm = await connect(session.pk, owner)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    await comm.send_to(text_data=json.dumps({"action": "inject", "text": "over\x00 the socket \ud800"}))
    await comm.send_to(text_data=json.dumps({"action": "edit_plan", "text": ["a\x00b"], "owner": [""],
                                             "status": ["todo"], "base_version": 0}))
    frames = "".join(await receive_all(comm))
    assert "over the socket \ufffd" in frames
    await comm.send_to(text_data=json.dumps({"action": "inject", "text": "still open"}))
    assert "still open" in "".join(await receive_all(comm))
    await comm.disconnect()
    texts = [e.payload.get("text") async for e in Event.objects.filter(session=session).order_by("seq")]
    assert texts[0] == "over the socket \ufffd" and texts[-1] == "still open"
    await session.arefresh_from_db()
    assert session.state["plan"]["steps"][0]["text"] == "ab"


def _session(owner) -> Session:
    return services.session_create(owner=owner, team=make_team(owner))
