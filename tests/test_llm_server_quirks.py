"""The OpenAI provider against the quirks of real servers (llama.cpp, Ollama,
vLLM, LM Studio), played by the fake server over HTTP: a reply counts only
when the server says how it ended."""

import asyncio

import pytest

from collab.llm.base import ChatRequest, LLMUnavailable
from collab.llm.fake_server import FakeOpenAIServer, FakeServerConfig
from collab.llm.openai_provider import OpenAIProvider, close_clients

REPLY = "one two three four five six seven eight nine ten"


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.LLM_MAX_RETRIES = 2
    settings.LLM_RETRY_BASE_DELAY = 0.01


@pytest.fixture
async def server():
    srv = await FakeOpenAIServer(FakeServerConfig(reply=REPLY)).start()
    yield srv
    await close_clients()
    await srv.stop()


def request(server, content="Hello", **kw) -> ChatRequest:
    kw.setdefault("timeout", 5.0)
    return ChatRequest(messages=[{"role": "user", "content": content}], model="fake-model",
                       base_url=server.base_url, api_key_env="COLLAB_TEST_NO_SUCH_KEY", **kw)


async def call(server, **kw):
    deltas, resets = [], []

    async def on_delta(text):
        deltas.append(text)

    async def on_reset():
        resets.append(1)
        deltas.clear()

    result = await OpenAIProvider().stream(request(server, **kw), on_delta, lambda: False, on_reset=on_reset)
    return result, "".join(deltas), len(resets)


async def test_a_stream_without_finish_reason_is_a_failed_attempt(server):
    server.config.failures = ["no_finish"]
    result, shown, resets = await call(server)
    assert result.text == REPLY and shown == REPLY
    assert result.attempts == 2 and resets == 1
    assert result.finish_reason == "stop"


async def test_a_stream_without_done_is_a_failed_attempt(server):
    server.config.failures = ["no_done"]
    result, _, _ = await call(server)
    assert result.text == REPLY and result.attempts == 2


async def test_streams_that_never_finish_name_the_cause(server):
    server.config.failures = ["no_finish"] * 3
    with pytest.raises(LLMUnavailable) as info:
        await call(server)
    assert "without a finish reason" in info.value.cause and info.value.attempts == 3
    server.config.failures = ["no_done"] * 3
    with pytest.raises(LLMUnavailable) as info:
        await call(server)
    assert "without [DONE]" in info.value.cause


async def test_an_empty_200_on_overflow_names_prompt_and_context(server):
    server.config.context_window = 20
    with pytest.raises(LLMUnavailable) as info:
        await call(server, content="word " * 60)
    cause = info.value.cause
    assert "empty reply" in cause and "the server's context is 20" in cause and "the prompt is about" in cause
    assert info.value.attempts == 1  # a prompt too long for the context will not fit on a retry
    assert len(server.requests) == 1


async def test_an_empty_200_without_a_known_context_is_retried(server):
    server.config.failures = ["empty"]
    result, _, _ = await call(server)
    assert result.text == REPLY and result.attempts == 2


async def test_finish_reason_length_is_reported(server):
    server.config.enforce_max_tokens = True
    result, _, _ = await call(server, max_tokens=4)
    assert result.finish_reason == "length"
    assert result.text == "one two three four"


async def test_no_usage_chunk_estimates_and_an_unanswered_attempt_costs_no_prompt(server):
    server.config.send_usage = False
    result, _, _ = await call(server)
    assert result.usage_estimated and result.prompt_tokens > 0 and result.completion_tokens > 0

    server.config.latency = 5

    async def stop_soon():
        return await OpenAIProvider().stream(request(server), _ignore, lambda: stop.is_set())

    stop = asyncio.Event()
    task = asyncio.create_task(stop_soon())
    await asyncio.sleep(0.2)
    stop.set()
    result = await task
    assert result.interrupted and result.prompt_tokens == 0 and result.completion_tokens == 0


async def _ignore(text):
    pass


async def test_one_interrupting_slot_cuts_overlapping_calls_and_a_limit_of_one_avoids_it(server, settings):
    server.config.slots, server.config.interrupt, server.config.chunk_delay = 1, True, 0.02
    settings.LLM_MAX_RETRIES = 1
    results = await asyncio.gather(*(call(server) for _ in range(3)), return_exceptions=True)
    # Overlapping calls cut each other short: never taken for a reply, each cut attempt is a failure.
    assert server.interrupted >= 1
    assert all(isinstance(r, LLMUnavailable) or r[0].text == REPLY for r in results)
    assert any(isinstance(r, LLMUnavailable) and "without a finish reason" in r.cause for r in results)

    cut_before, server.most_concurrent = server.interrupted, 0
    results = await asyncio.gather(*(call(server, max_concurrency=1) for _ in range(4)))
    assert [r[0].text for r in results] == [REPLY] * 4
    assert [r[0].attempts for r in results] == [1] * 4
    assert server.interrupted == cut_before and server.most_concurrent == 1


SCHEMA = {"type": "object", "properties": {"move": {"type": "string", "enum": ["N", "S"]}}, "required": ["move"]}


async def test_structured_output_falls_back_when_the_server_refuses_the_parameter(server):
    server.config.follow_schema = True
    server.config.response_formats = ("json_object", "text")  # llama.cpp: no json_schema
    result, _, _ = await call(server, json_mode=True, schema=SCHEMA, structured="json_schema")
    assert result.text == '{"move": "N"}' and result.attempts == 1
    assert result.params["structured"] == "json_object"
    sent = [r.get("response_format") for r in server.requests]
    assert sent[0]["type"] == "json_schema" and sent[0]["json_schema"]["schema"] == SCHEMA
    assert sent[1] == {"type": "json_object", "schema": SCHEMA}
    await call(server, json_mode=True, schema=SCHEMA, structured="json_schema")
    assert server.requests[2]["response_format"]["type"] == "json_object"  # learned: no second refusal

    server.config.response_formats = ("text",)
    result, _, _ = await call(server, json_mode=True, schema=SCHEMA, structured="json_object")
    assert result.params["structured"] == "prompt_only"
    assert "response_format" not in server.requests[-1]


async def test_a_refused_request_without_response_format_is_still_an_error(server):
    server.config.failures = ["400"]
    with pytest.raises(LLMUnavailable, match="HTTP 400"):
        await call(server)
