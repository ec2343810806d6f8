"""OpenAIProvider with the real openai client, over HTTP, against the fake server."""

import json
import time
import urllib.request

import pytest

from collab.llm.base import ChatRequest, LLMUnavailable, estimate_prompt_tokens, estimate_tokens
from collab.llm.fake_server import FakeOpenAIServer, FakeServerConfig, count_tokens, run_in_thread
from collab.llm.openai_provider import OpenAIProvider, close_clients
from collab.llm.registry import get_provider

REPLY = "The quick brown fox jumps over the lazy dog and keeps on running far away"


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


class Collector:
    def __init__(self, stop_after: int | None = None):
        self.deltas: list[str] = []
        self.resets = 0
        self.stop_after = stop_after

    async def on_delta(self, text: str) -> None:
        self.deltas.append(text)

    async def on_reset(self) -> None:
        self.resets += 1
        self.deltas.clear()

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.deltas) >= self.stop_after


def make_request(server, content="Hello there", **kw) -> ChatRequest:
    kw.setdefault("timeout", 5.0)
    kw.setdefault("api_key_env", "COLLAB_TEST_NO_SUCH_KEY")
    return ChatRequest(messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": content}],
                       model="test-model", base_url=server.base_url, **kw)


async def run(server, collector=None, **kw):
    c = collector or Collector()
    result = await OpenAIProvider().stream(make_request(server, **kw), c.on_delta, c.should_stop,
                                           on_reset=c.on_reset)
    return result, c


async def test_streams_deltas_and_uses_server_usage(server):
    result, c = await run(server, temperature=0.2, max_tokens=64)
    assert len(c.deltas) > 5
    assert result.text == "".join(c.deltas) == REPLY
    assert not result.usage_estimated
    assert result.completion_tokens == count_tokens(REPLY)
    assert result.prompt_tokens == sum(count_tokens(m["content"]) + 4 for m in make_request(server).messages)
    assert result.attempts == 1 and not result.interrupted
    assert result.model == "test-model"
    assert result.first_token_ms is not None and result.first_token_ms <= result.latency_ms
    assert result.params == {"model": "test-model", "temperature": 0.2, "max_tokens": 64,
                             "base_url": server.base_url}


async def test_records_exact_request(server):
    await run(server, content="What is 2+2?", json_mode=True)
    [body] = server.requests
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "What is 2+2?"}]
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["response_format"] == {"type": "json_object"}


async def test_estimates_usage_when_server_sends_none(server):
    server.config.send_usage = False
    result, _ = await run(server)
    assert result.usage_estimated
    assert result.completion_tokens == estimate_tokens(REPLY)
    assert result.prompt_tokens == estimate_prompt_tokens(make_request(server).messages)


async def test_scripted_replies_and_directives(server):
    server.config.replies = ['{"action": "say"}']
    first, _ = await run(server)
    assert first.text == '{"action": "say"}'
    second, _ = await run(server, content="[[fake:reply=hello world]] hi")
    assert second.text == "hello world"
    server.config.reply = None
    third, _ = await run(server, content="Tell me a story")
    assert third.text == "Reply from test-model to: Tell me a story"


async def test_429_then_success_retries(server):
    server.config.failures = ["429"]
    result, c = await run(server)
    assert result.attempts == 2
    assert result.text == REPLY == "".join(c.deltas)
    assert c.resets == 0  # nothing was delivered by the failed attempt
    assert len(server.requests) == 2


async def test_retry_after_is_honoured(server, settings):
    server.config.failures = ["429"]
    server.config.retry_after = 0.4
    started = time.monotonic()
    result, _ = await run(server)
    assert result.attempts == 2
    assert time.monotonic() - started >= 0.4


async def test_500_every_time_raises(server, settings):
    settings.LLM_MAX_RETRIES = 3
    server.config.failures = ["500"] * 4
    with pytest.raises(LLMUnavailable) as info:
        await run(server)
    assert info.value.attempts == 4
    assert "500" in info.value.cause
    assert info.value.cause == "model server returned HTTP 500 (internal server error) 4 times"
    assert len(server.requests) == 4


async def test_client_error_is_not_retried(server):
    with pytest.raises(LLMUnavailable) as info:
        await run(server, content="[[fake:error=400]]")
    assert info.value.attempts == 1
    assert "HTTP 400" in info.value.cause


async def test_timeout_raises(server, settings):
    settings.LLM_MAX_RETRIES = 1
    server.config.failures = ["timeout", "timeout"]
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as info:
        await run(server, timeout=0.3)
    assert "timed out after 0.3 s" in info.value.cause
    assert info.value.attempts == 2
    assert time.monotonic() - started < 3


async def test_malformed_chunk_then_success_recovers(server):
    server.config.failures = ["malformed"]
    result, c = await run(server)
    assert result.attempts == 2
    assert c.resets == 1
    assert result.text == REPLY == "".join(c.deltas)


async def test_dropped_stream_then_success_recovers(server):
    server.config.failures = ["drop"]
    result, c = await run(server)
    assert result.attempts == 2 and c.resets == 1
    assert result.text == REPLY


async def test_dropped_stream_every_time_names_the_cause(server, settings):
    settings.LLM_MAX_RETRIES = 0
    server.config.failures = ["drop"]
    with pytest.raises(LLMUnavailable) as info:
        await run(server)
    assert "broke off" in info.value.cause


async def test_connection_refused(server):
    url = server.base_url
    await server.stop()
    c = Collector()
    request = make_request(server)
    request.base_url = url
    with pytest.raises(LLMUnavailable) as info:
        await OpenAIProvider().stream(request, c.on_delta, c.should_stop)
    assert info.value.cause.startswith(f"could not connect to {url}")
    assert "refused" in info.value.cause
    assert info.value.attempts == 3


async def test_api_key_never_in_error(server, monkeypatch):
    monkeypatch.setenv("COLLAB_TEST_KEY", "sk-secret-123456")
    c = Collector()
    request = make_request(server, content="[[fake:error=401]]")
    request.api_key_env = "COLLAB_TEST_KEY"
    with pytest.raises(LLMUnavailable) as info:
        await OpenAIProvider().stream(request, c.on_delta, c.should_stop)
    assert "sk-secret" not in info.value.cause
    assert "HTTP 401" in info.value.cause


async def test_should_stop_cuts_a_slow_stream(server):
    server.config.chunk_delay = 0.2  # ~3 s for the whole reply
    started = time.monotonic()
    result, c = await run(server, collector=Collector(stop_after=2))
    elapsed = time.monotonic() - started
    assert result.interrupted
    assert result.text == "".join(c.deltas)
    assert 0 < len(result.text) < len(REPLY)
    assert elapsed < 1.0
    assert result.usage_estimated


async def test_should_stop_while_waiting_for_first_byte(server):
    server.config.latency = 3.0
    stop_at = time.monotonic() + 0.2
    c = Collector()
    started = time.monotonic()
    result = await OpenAIProvider().stream(make_request(server), c.on_delta, lambda: time.monotonic() > stop_at)
    assert result.interrupted and result.text == ""
    assert time.monotonic() - started < 1.0


async def test_registry():
    assert isinstance(get_provider("openai"), OpenAIProvider)
    assert get_provider("openai") is get_provider("openai")
    with pytest.raises(ValueError, match="openai, scripted"):
        get_provider("nope")


def test_fake_server_in_thread_plain_http():
    with run_in_thread(FakeServerConfig(reply="plain answer")) as srv:
        with urllib.request.urlopen(f"{srv.base_url}/models") as resp:
            assert json.load(resp)["data"][0]["id"] == "fake-model"
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
        req = urllib.request.Request(f"{srv.base_url}/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            completion = json.load(resp)
        assert completion["choices"][0]["message"]["content"] == "plain answer"
        assert completion["usage"]["completion_tokens"] == 2
        assert srv.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


async def test_the_key_sent_is_the_profiles_own_and_never_the_apps_secrets(server, settings, monkeypatch):
    """A profile's own server gets only the variable the profile names: not the
    operator's OPENAI_API_KEY by fallback, and never one of collab's own settings."""
    settings.OPENAI_API_KEY = "sk-operator-key"
    monkeypatch.setenv("COLLAB_TEST_PROFILE_KEY", "sk-profile-key")
    monkeypatch.setenv("SECRET_KEY", "django-secret")
    for name in ("COLLAB_TEST_PROFILE_KEY", "COLLAB_TEST_NO_SUCH_KEY", "", "SECRET_KEY"):
        result, _ = await run(server, api_key_env=name)
        assert result.text == REPLY
    assert server.authorizations == ["Bearer sk-profile-key", "Bearer not-needed", "Bearer not-needed",
                                     "Bearer not-needed"]


async def test_the_operators_key_goes_to_the_operators_server(server, settings):
    settings.OPENAI_API_KEY = "sk-operator-key"
    settings.OPENAI_BASE_URL = server.base_url
    c = Collector()
    request = make_request(server, api_key_env="")
    request.base_url = ""  # the profile names no server: the configured one
    result = await OpenAIProvider().stream(request, c.on_delta, c.should_stop)
    request.base_url = server.base_url  # as the engine fills it in for a profile without a server
    await OpenAIProvider().stream(request, c.on_delta, c.should_stop)
    assert result.text == REPLY and server.authorizations == ["Bearer sk-operator-key"] * 2
