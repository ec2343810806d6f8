import time

import pytest

from collab.llm.base import ChatRequest, estimate_tokens
from collab.llm.registry import get_provider
from collab.llm.scripted import ScriptedProvider, word_chunks

REPLY = "One two three four five six seven eight nine ten"


def make_request(tps=None, reply=REPLY) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": "go"}], scripted_reply=reply,
                       scripted_tokens_per_second=tps)


async def stream(request, stop_after=None):
    deltas = []

    async def on_delta(text):
        deltas.append(text)

    result = await ScriptedProvider().stream(
        request, on_delta, lambda: stop_after is not None and len(deltas) >= stop_after)
    return result, deltas


def test_word_chunks_round_trip():
    for text in ["", "a", " a  b\n", "hello, world!  "]:
        assert "".join(word_chunks(text)) == text


async def test_streams_the_reply_in_word_chunks():
    result, deltas = await stream(make_request(tps=0))
    assert deltas == word_chunks(REPLY) and len(deltas) == 10
    assert result.text == REPLY
    assert result.model == "scripted"
    assert result.usage_estimated and result.completion_tokens == estimate_tokens(REPLY)
    assert result.prompt_tokens > 0
    assert not result.interrupted and result.attempts == 1
    assert result.first_token_ms is not None


async def test_paces_at_tokens_per_second():
    started = time.monotonic()
    result, _ = await stream(make_request(tps=50))  # 10 words at 50/s: ~0.2 s
    elapsed = time.monotonic() - started
    assert 0.18 <= elapsed < 1.0
    assert result.latency_ms >= 180


async def test_uses_setting_when_request_has_none(settings):
    settings.SCRIPTED_TOKENS_PER_SECOND = 0
    started = time.monotonic()
    result, _ = await stream(make_request(tps=None))
    assert time.monotonic() - started < 0.1
    assert result.params["tokens_per_second"] == 0


async def test_should_stop_interrupts_promptly():
    started = time.monotonic()
    result, deltas = await stream(make_request(tps=2), stop_after=1)  # full reply: 5 s
    assert time.monotonic() - started < 1.0
    assert result.interrupted
    assert result.text == "".join(deltas) == "One"


async def test_empty_reply():
    result, deltas = await stream(make_request(tps=0, reply=""))
    assert result.text == "" and deltas == [] and result.first_token_ms is None


def test_registry():
    assert get_provider("scripted") is get_provider("scripted")
    assert get_provider("scripted").kind == "scripted"
    with pytest.raises(ValueError, match="known kinds"):
        get_provider("other")
