"""Real servers' quirks end to end through the worker: a cut-off or empty
stream is a failed attempt (retried, then a pause naming the cause), never
a reply; a reply cut at max_tokens says so; a one-slot server is not
hammered with parallel calls."""

import pytest
from django.test import Client

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions.models import Event, LLMCall
from collab.teams.models import ModelProfile
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset
from tests.engine_helpers import assert_gapless, fake_profile, make_team, start, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REPLY = "Here is my considered answer for the team."


def _session(owner, server, **profile_fields):
    profile = fake_profile(server)
    ModelProfile.objects.filter(pk=profile.pk).update(**profile_fields)
    profile.refresh_from_db()
    return start(owner, make_team(owner, profile=profile), provider="openai", protocol_params={"rounds": 1})


def test_no_usage_chunk_is_estimated_and_marked(owner, worker, client: Client):
    with run_in_thread(FakeServerConfig(reply=REPLY, send_usage=False)) as server:
        session = wait_for(_session(owner, server))
    assert session.status == "finished" and session.tokens_estimated
    calls = list(LLMCall.objects.filter(session=session))
    assert len(calls) == 3 and all(c.usage_estimated and c.prompt_tokens > 0 for c in calls)
    assert calls[0].completion_tokens == 9  # the tokenizer's count of REPLY, not len / 4
    assert all(m.payload["tokens_estimated"] for m in session.events.filter(kind="message"))
    client.force_login(owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f"~{session.tokens_used} <small>estimated</small>" in page


def test_server_usage_is_not_marked_estimated(owner, worker, client: Client):
    with run_in_thread(FakeServerConfig(reply=REPLY)) as server:
        session = wait_for(_session(owner, server))
    assert not session.tokens_estimated
    assert not any(m.payload.get("tokens_estimated") for m in session.events.filter(kind="message"))
    client.force_login(owner)
    assert "estimated</small>" not in client.get(f"/sessions/{session.pk}/").content.decode()


def test_a_run_with_mostly_defaulted_replies_says_so_and_marks_scores_unreliable(owner, worker, client: Client):
    """A server that never answers with a usable action: the session still ends,
    but its end reason and page say the scores rest on defaults."""
    with run_in_thread(FakeServerConfig(reply="I would rather chat.")) as server:
        profile = fake_profile(server)
        preset = PRESETS["fishery_village"]
        team = team_create_from_preset(preset_key=preset.key, owner=owner)
        team.roles.update(model_profile=profile)
        session = wait_for(start(owner, team, protocol=preset.protocol, protocol_params=preset.protocol_params,
                                 max_turns=3, provider="openai"), timeout=90)
    assert session.status == "finished"
    assert session.defaulted_replies == 5 and session.agent_replies >= 5
    assert "were defaulted: scores unreliable" in session.end_reason
    assert session.events.filter(kind="state", payload__unreliable=True).exists()
    client.force_login(owner)
    assert 'id="scores-unreliable"' in client.get(f"/sessions/{session.pk}/").content.decode()


def test_a_clean_run_is_not_marked_unreliable(owner, worker, client: Client):
    with run_in_thread(FakeServerConfig(reply=REPLY)) as server:
        session = wait_for(_session(owner, server))
    assert session.agent_replies == 3 and session.defaulted_replies == 0
    assert "unreliable" not in session.end_reason
    client.force_login(owner)
    assert 'id="scores-unreliable"' not in client.get(f"/sessions/{session.pk}/").content.decode()


def test_a_stream_without_finish_reason_is_retried_not_taken_as_the_reply(owner, worker):
    with run_in_thread(FakeServerConfig(reply=REPLY, failures=["no_finish", "no_done"])) as server:
        session = wait_for(_session(owner, server))
    assert session.status == "finished"
    texts = list(session.events.filter(kind="message").values_list("payload__text", flat=True))
    assert texts == [REPLY] * 3
    assert list(LLMCall.objects.filter(session=session).values_list("attempts", flat=True)) == [3, 1, 1]
    assert not session.events.filter(kind="turn_error").exists()


def test_streams_that_never_finish_pause_the_session_with_the_cause(owner, worker):
    with run_in_thread(FakeServerConfig(reply=REPLY, failures=["no_finish"] * 20)) as server:
        session = wait_for(_session(owner, server), statuses=("paused",))
    error = session.events.filter(kind="turn_error").last()
    assert "without a finish reason" in error.payload["cause"]
    assert not session.events.filter(kind="message").exists()  # nothing empty or cut was logged as a reply


def test_context_overflow_pauses_naming_prompt_and_context(owner, worker):
    with run_in_thread(FakeServerConfig(reply=REPLY, context_window=40)) as server:
        session = wait_for(_session(owner, server), statuses=("paused",))
        assert len(server.requests) == 1  # not retried: the same prompt cannot fit
    cause = session.events.filter(kind="turn_error").last().payload["cause"]
    assert "the prompt is about" in cause and "the server's context is 40" in cause
    assert not session.events.filter(kind="message").exists()


def test_a_reply_cut_at_max_tokens_is_recorded_and_shown(owner, worker, client: Client):
    with run_in_thread(FakeServerConfig(reply=REPLY, enforce_max_tokens=True)) as server:
        session = wait_for(_session(owner, server, max_tokens=3))
    message = session.events.filter(kind="message").first()
    assert message.payload["text"] == "Here is my" and message.payload["cut_at_token_limit"] is True
    assert set(LLMCall.objects.filter(session=session).values_list("finish_reason", flat=True)) == {"length"}
    client.force_login(owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert page.count("cut at the token limit") == 3


def test_a_huge_reply_is_capped_in_the_audit_record_too(owner, worker):
    huge = "word " * 240_000  # 1.2 MB
    with run_in_thread(FakeServerConfig(replies=[huge], reply=REPLY, chunk_size=4000)) as server:
        session = wait_for(_session(owner, server), timeout=90)
    call = LLMCall.objects.filter(session=session).order_by("id").first()
    assert len(call.response) == 100_000 and call.response_cut_from == len(huge)
    assert len(session.events.filter(kind="message").first().payload["text"]) == 20_000


def test_a_scenario_on_a_one_slot_interrupting_server_has_no_defaulted_reply(owner, worker):
    """llama.cpp's server on one slot cuts the stream in flight when a request
    arrives: with the profile's limit of one, the five fishers' simultaneous
    calls wait their turn and none is cut or defaulted."""
    config = FakeServerConfig(reply=REPLY, slots=1, interrupt=True, send_usage=False, follow_schema=True,
                              chunk_delay=0.01)
    with run_in_thread(config) as server:
        profile = fake_profile(server)
        ModelProfile.objects.filter(pk=profile.pk).update(max_concurrency=1)
        preset = PRESETS["fishery_village"]
        team = team_create_from_preset(preset_key=preset.key, owner=owner)
        team.roles.update(model_profile=profile)
        session = start(owner, team, protocol=preset.protocol, protocol_params=preset.protocol_params,
                        topology=preset.topology, topology_params=preset.topology_params, max_turns=9,
                        provider="openai")
        session.refresh_from_db()
        session = wait_for(session, timeout=120)
        assert server.interrupted == 0 and server.most_concurrent == 1
    assert session.status == "finished"
    assert_gapless(session)
    actions = list(Event.objects.filter(session=session, kind="action"))
    assert len(actions) >= 5 and not any(a.payload["defaulted"] for a in actions)
    assert not Event.objects.filter(session=session, kind="turn_error").exists()
    assert LLMCall.objects.filter(session=session).count() >= 5


def test_sixty_turns_on_a_4096_token_server_never_overflow(owner, worker):
    """Long replies would fill a 4,096-token context within a few turns: the
    prompt keeps the newest events that fit and says how many it left out."""
    long_reply = " ".join(f"point{i} is worth discussing further" for i in range(60))  # ~300 tokens
    config = FakeServerConfig(reply=long_reply, context_window=4096)
    with run_in_thread(config) as server:
        profile = fake_profile(server)
        ModelProfile.objects.filter(pk=profile.pk).update(context_window=4096, max_tokens=400)
        profile.refresh_from_db()
        session = start(owner, make_team(owner, profile=profile), provider="openai", max_turns=60,
                        protocol_params={"rounds": 20})
        session = wait_for(session, timeout=240)
        biggest = max(sum(len(m["content"]) for m in r["messages"]) for r in server.requests)
    assert session.status == "finished", session.events.filter(kind="turn_error").last().payload
    assert session.events.filter(kind="message").count() == 60
    assert not session.events.filter(kind="turn_error").exists()
    last = LLMCall.objects.filter(session=session).order_by("id").last()
    assert any("older events of this session are left out" in m["content"] for m in last.messages)
    assert last.messages[0]["role"] == "system" and "analyst" in last.messages[0]["content"] + "".join(
        m["content"] for m in last.messages)
    assert biggest < 4096 * 8  # sanity: prompts stayed bounded


def test_a_server_that_rejects_json_schema_gets_json_object_and_valid_actions(owner, worker):
    config = FakeServerConfig(reply=REPLY, follow_schema=True, response_formats=("json_object", "text"))
    with run_in_thread(config) as server:
        profile = fake_profile(server)
        preset = PRESETS["maze_pair"]
        team = team_create_from_preset(preset_key=preset.key, owner=owner)
        team.roles.update(model_profile=profile)
        session = wait_for(start(owner, team, protocol=preset.protocol, protocol_params=preset.protocol_params,
                                 max_turns=4, provider="openai"), timeout=90)
        formats = [(r.get("response_format") or {}).get("type") for r in server.requests]
    assert session.status == "finished"
    assert formats.count("json_schema") == 1 and "json_object" in formats  # refused once, then remembered
    actions = list(Event.objects.filter(session=session, kind="action"))
    assert actions and not any(a.payload["defaulted"] for a in actions)
    structured = LLMCall.objects.filter(session=session, params__json_mode=True)
    assert set(structured.values_list("params__structured", flat=True)) == {"json_object"}


def test_a_reask_names_the_problem_and_restates_the_schema_without_the_bad_reply(owner, worker):
    bad = '{"next": "ghost-of-the-opera", "reason": "a very particular bad reply"}'
    config = FakeServerConfig(replies=[bad, '{"next": "tester", "reason": "fine"}'], reply="ok")
    with run_in_thread(config) as server:
        session = wait_for(start(owner, make_team(owner, profile=fake_profile(server)), protocol="moderator",
                                 provider="openai", protocol_params={"moderator": "analyst", "speeches": 1}))
        reask = server.requests[1]["messages"]
    assert session.status == "finished"
    text = "\n".join(m["content"] for m in reask)
    assert bad not in text and "a very particular bad reply" not in text
    assert [m["role"] for m in reask].count("assistant") == 0
    follow_up = reask[-1]["content"].split("\n\n")[-1]
    assert follow_up.startswith("Your last reply could not be used:") and "ghost" in follow_up.split("\n")[0]
    assert '"required"' in follow_up and '"next"' in follow_up  # the schema, restated
