"""Streaming chat completions from OpenAI or any OpenAI-compatible server.

The client's own retries are off: this module retries 429s, 5xx, timeouts,
connection errors and broken streams itself, so that every retry is counted,
`should_stop()` is honoured while waiting, and a consumer that already got
deltas of a failed attempt is told (`on_reset`) before the text starts over.
"""

import asyncio
import email.utils
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings

from collab.llm.base import (
    ChatRequest,
    ChatResult,
    DeltaCallback,
    LLMUnavailable,
    StopCheck,
    estimate_prompt_tokens,
    estimate_tokens,
)

log = logging.getLogger(__name__)

ResetCallback = Callable[[], Awaitable[None]]

PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key, but the client insists on one
MAX_RETRY_AFTER = 30.0  # seconds; a longer Retry-After is capped
MAX_BACKOFF = 30.0
STOP_POLL = 0.05  # how often should_stop() is polled while waiting on the network
_STATUS_LABELS = {400: "bad request", 401: "authentication failed", 403: "forbidden", 404: "not found",
                  408: "request timeout", 409: "conflict", 422: "unprocessable request", 429: "rate limited",
                  500: "internal server error", 502: "bad gateway", 503: "service unavailable",
                  504: "gateway timeout"}

# Clients per (event loop, base_url, api_key): a client's connection pool is
# bound to the loop it first ran on.
_clients: dict[tuple[int, str | None, str], tuple[asyncio.AbstractEventLoop, openai.AsyncOpenAI]] = {}


def get_client(base_url: str | None, api_key: str) -> openai.AsyncOpenAI:
    loop = asyncio.get_running_loop()
    for key, (owner, _) in list(_clients.items()):
        if owner.is_closed():
            del _clients[key]
    key = (id(loop), base_url, api_key)
    entry = _clients.get(key)
    if entry is None or entry[0] is not loop:
        client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0,
                                    timeout=settings.LLM_TIMEOUT_SECONDS)
        entry = _clients[key] = (loop, client)
    return entry[1]


async def close_clients() -> None:
    """Close the cached clients of the running loop (test teardown, shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, client) in list(_clients.items()):
        if owner is loop:
            del _clients[key]
            await client.close()


class _Failure(Exception):
    def __init__(self, description: str, retryable: bool = True, retry_after: float | None = None):
        super().__init__(description)
        self.description = description
        self.retryable = retryable
        self.retry_after = retry_after


_STOPPED = object()
_END = object()


@dataclass
class _Attempt:
    parts: list[str] = field(default_factory=list)
    first_token_at: float | None = None
    usage: Any = None
    model: str = ""
    interrupted: bool = False
    receiving: bool = False  # the response has started: a connection error now is a broken stream


class OpenAIProvider:
    kind = "openai"

    async def stream(
        self,
        request: ChatRequest,
        on_delta: DeltaCallback,
        should_stop: StopCheck,
        *,
        on_reset: ResetCallback | None = None,
    ) -> ChatResult:
        api_key = os.environ.get(request.api_key_env or "") or settings.OPENAI_API_KEY or PLACEHOLDER_KEY
        client = get_client(request.base_url or settings.OPENAI_BASE_URL or None, api_key)
        url = str(client.base_url).rstrip("/")
        model = request.model or settings.OPENAI_MODEL
        params = {"model": model, "temperature": request.temperature, "max_tokens": request.max_tokens,
                  "base_url": url}
        kwargs: dict[str, Any] = {
            "model": model, "messages": request.messages, "temperature": request.temperature,
            "max_tokens": request.max_tokens, "stream": True, "stream_options": {"include_usage": True},
            "timeout": request.timeout,
        }
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        max_retries = max(0, int(settings.LLM_MAX_RETRIES))
        started = time.monotonic()
        failures: list[str] = []

        while True:
            state = _Attempt(model=model)
            try:
                await self._attempt(client, kwargs, state, on_delta, should_stop)
                break
            except _Failure as failure:
                failures.append(_scrub(failure.description, api_key))
                if not failure.retryable or len(failures) > max_retries:
                    raise LLMUnavailable(_summary(failures), attempts=len(failures)) from failure.__cause__
                delay = _backoff(len(failures), failure.retry_after)
                log.warning("model call to %s failed (attempt %d of %d): %s; retrying in %.2f s",
                            url, len(failures), max_retries + 1, failures[-1], delay)
            if await _sleep_unless_stopped(delay, should_stop):
                state.interrupted = True  # keep the failed attempt's text: the consumer has it
                break
            if state.parts and on_reset is not None:
                await on_reset()

        text = "".join(state.parts)
        now = time.monotonic()
        usage = state.usage
        return ChatResult(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else estimate_prompt_tokens(request.messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
            usage_estimated=usage is None,
            latency_ms=(now - started) * 1000,
            first_token_ms=(state.first_token_at - started) * 1000 if state.first_token_at else None,
            attempts=len(failures) + 1,
            interrupted=state.interrupted,
            model=state.model,
            params=params,
        )

    async def _attempt(self, client: openai.AsyncOpenAI, kwargs: dict, state: _Attempt,
                       on_delta: DeltaCallback, should_stop: StopCheck) -> None:
        url = str(client.base_url).rstrip("/")
        timeout = kwargs["timeout"]
        stream = await _network(client.chat.completions.create(**kwargs), should_stop, state, url, timeout)
        if stream is _STOPPED:
            state.interrupted = True
            return
        state.receiving = True
        chunks = stream.__aiter__()
        try:
            while True:
                if should_stop():
                    state.interrupted = True
                    return
                chunk = await _network(_next(chunks), should_stop, state, url, timeout)
                if chunk is _END:
                    return
                if chunk is _STOPPED:
                    state.interrupted = True
                    return
                if chunk.model:
                    state.model = chunk.model
                if chunk.usage is not None:
                    state.usage = chunk.usage
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    if state.first_token_at is None:
                        state.first_token_at = time.monotonic()
                    state.parts.append(text)
                    await on_delta(text)
        finally:
            await stream.close()


async def _next(chunks):
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return _END


async def _network(awaitable, should_stop: StopCheck, state: _Attempt, url: str, call_timeout: float):
    """Await a network step; _STOPPED soon after should_stop() turns true, _Failure on errors."""
    task = asyncio.ensure_future(awaitable)
    try:
        while not should_stop():
            done, _ = await asyncio.wait({task}, timeout=STOP_POLL)
            if done:
                return task.result()
    except (openai.OpenAIError, ValueError) as exc:  # ValueError: a chunk that is not JSON
        raise _classify(exc, url, call_timeout, state.receiving) from exc
    finally:
        if not task.done():
            task.cancel()
    await asyncio.wait({task})  # let the cancelled read close its response
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not warn about it
    return _STOPPED


def _classify(exc: Exception, url: str, timeout: float, receiving: bool) -> _Failure:
    if isinstance(exc, openai.APITimeoutError):
        return _Failure(f"timed out after {round(float(timeout), 2)} s")
    if isinstance(exc, openai.APIConnectionError):
        reason = _connection_reason(exc)
        if receiving:
            return _Failure(f"the stream from {url} broke off: {reason}")
        return _Failure(f"could not connect to {url}: {reason}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        label = _STATUS_LABELS.get(status)
        description = f"model server returned HTTP {status}" + (f" ({label})" if label else "")
        retryable = status in (408, 409, 429) or status >= 500
        if not retryable:
            description += f": {_server_message(exc)[:200]}"
        return _Failure(description, retryable, _retry_after(exc.response.headers))
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIResponseValidationError):
        return _Failure(f"model server reported an error mid-stream: {exc.message[:200]}")
    return _Failure("model server sent a malformed response")


def _connection_reason(exc: Exception) -> str:
    chain, seen = [], exc.__cause__ or exc.__context__ or exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, ConnectionRefusedError) or "refused" in str(e).lower() for e in chain):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "host not found"
    return (str(chain[0]) or type(chain[0]).__name__)[:200]


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
    return exc.message


def _retry_after(headers) -> float | None:
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, AttributeError):
        return None


def _backoff(failures: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    delay = min(MAX_BACKOFF, float(settings.LLM_RETRY_BASE_DELAY) * 2 ** (failures - 1))
    return delay * random.uniform(0.75, 1.25)


async def _sleep_unless_stopped(delay: float, should_stop: StopCheck) -> bool:
    """Sleep `delay` seconds; True as soon as should_stop() turns true."""
    deadline = time.monotonic() + delay
    while not should_stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, STOP_POLL))
    return True


def _summary(failures: list[str]) -> str:
    last, count = failures[-1], len(failures)
    if count == 1:
        return last
    if all(f == last for f in failures):
        return f"{last} {count} times" if last.startswith("model server returned") else f"{last} ({count} attempts)"
    return f"{last} (after {count} attempts)"


def _scrub(text: str, api_key: str) -> str:
    if api_key and api_key != PLACEHOLDER_KEY and len(api_key) >= 4:
        text = text.replace(api_key, "***")
    return text
