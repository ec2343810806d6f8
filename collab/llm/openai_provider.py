"""Streaming chat completions from OpenAI or any OpenAI-compatible server.

The client's own retries are off: this module retries 429s, 5xx, timeouts,
connection errors and broken streams itself, so that every retry is counted,
`should_stop()` is honoured while waiting, and a consumer that already got
deltas of a failed attempt is told (`on_reset`) before the text starts over.

The request goes through the client (`with_streaming_response`: its auth,
request building, status errors and timeouts); the server-sent events are
read as lines and each chunk parsed with json.loads. The client's typed
stream would build a pydantic object per chunk, which was a fifth of a
worker's CPU with 100 sessions in flight (bench/concurrency.py).

Stopping is pushed, not polled per read: one timer per event loop checks
every in-flight call's should_stop() each STOP_POLL and cancels the network
wait of those that should stop; the wait turns that into _STOPPED.
"""

import asyncio
import contextlib
import email.utils
import json
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from django.conf import settings

from collab.llm.base import (
    RESERVED_ENV,
    STOP_POLL,
    ChatRequest,
    ChatResult,
    DeltaCallback,
    LLMUnavailable,
    StopCheck,
    estimate_prompt_tokens,
    estimate_tokens,
    sleep_until,
)

log = logging.getLogger(__name__)

ResetCallback = Callable[[], Awaitable[None]]

PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key, but the client insists on one
MAX_RETRY_AFTER = 30.0  # seconds; a longer Retry-After is capped
MAX_BACKOFF = 30.0
_STATUS_LABELS = {400: "bad request", 401: "authentication failed", 403: "forbidden", 404: "not found",
                  408: "request timeout", 409: "conflict", 422: "unprocessable request", 429: "rate limited",
                  500: "internal server error", 502: "bad gateway", 503: "service unavailable",
                  504: "gateway timeout"}

# Clients per (event loop, base_url, api_key): a client's connection pool is
# bound to the loop it first ran on.
_clients: dict[tuple[int, str | None, str], tuple[asyncio.AbstractEventLoop, openai.AsyncOpenAI]] = {}


def api_key_for(request: ChatRequest) -> str:
    """The key a request carries: the one place this is decided.

    The operator's OPENAI_API_KEY goes only to the operator's configured server
    (OPENAI_BASE_URL, or the client's default when none is set). Any other
    server gets only the variable its profile names (the profile form lets only
    staff name one for their own server), never one of collab's own settings,
    and no key at all when the profile names none: an empty name is never
    read as OPENAI_API_KEY."""
    name = request.api_key_env
    key = os.environ.get(name, "") if name and name not in RESERVED_ENV else ""
    if not key and request.base_url in ("", settings.OPENAI_BASE_URL):
        key = settings.OPENAI_API_KEY
    return key or PLACEHOLDER_KEY


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


# Semaphores per (event loop, server URL, limit): every call of this worker
# process runs on its one shared loop, so a server's limit holds across the
# worker's threads. Each process has its own: the limit is per worker.
_slots: dict[tuple[int, str, int], tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}


@contextlib.asynccontextmanager
async def _slot(url: str, limit: int):
    """Hold one of the server's `limit` request slots (no limit when 0) during an attempt."""
    if limit <= 0:
        yield
        return
    loop = asyncio.get_running_loop()
    for key, (owner, _) in list(_slots.items()):
        if owner.is_closed():
            del _slots[key]
    entry = _slots.get((id(loop), url, limit))
    if entry is None or entry[0] is not loop:
        entry = _slots[(id(loop), url, limit)] = (loop, asyncio.Semaphore(limit))
    async with entry[1]:
        yield


async def close_clients() -> None:
    """Close the cached clients of the running loop (test teardown, shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, client) in list(_clients.items()):
        if owner is loop:
            del _clients[key]
            await client.close()


class _Failure(Exception):
    def __init__(self, description: str, retryable: bool = True, retry_after: float | None = None,
                 status: int | None = None):
        super().__init__(description)
        self.description = description
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


# Structured output, strongest first: a server that refuses one gets the next.
FALLBACK = {"json_schema": "json_object", "json_object": "prompt_only"}
_fallback_modes: dict[tuple[str, str], str] = {}  # (server URL, model) -> the mode it accepted


def _structured_mode(url: str, model: str, request: ChatRequest) -> str:
    mode = request.structured if request.structured in (*FALLBACK, "prompt_only") else "json_schema"
    if mode == "json_schema" and not request.schema:
        mode = "json_object"
    learned = _fallback_modes.get((url, model))
    order = [*FALLBACK, "prompt_only"]
    return learned if learned and order.index(learned) > order.index(mode) else mode


def _set_response_format(kwargs: dict, mode: str, schema: dict | None) -> str:
    """Put the reply's schema in the request the way `mode` says; returns `mode`."""
    if mode == "json_schema":
        kwargs["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": "reply", "schema": schema, "strict": False}}
    elif mode == "json_object":
        kwargs["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
    else:
        kwargs.pop("response_format", None)
    return mode


_STOPPED = object()
_END = object()


@dataclass
class _Attempt:
    parts: list[str] = field(default_factory=list)
    first_token_at: float | None = None
    usage: dict | None = None
    model: str = ""
    interrupted: bool = False
    receiving: bool = False  # the response has started: a connection error now is a broken stream
    chunks: int = 0  # data events received
    finish_reason: str | None = None


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
        api_key = api_key_for(request)
        client = get_client(request.base_url or settings.OPENAI_BASE_URL or None, api_key)
        url = str(client.base_url).rstrip("/")
        model = request.model or settings.OPENAI_MODEL or "gpt-4o-mini"
        params = {"model": model, "temperature": request.temperature, "max_tokens": request.max_tokens,
                  "base_url": url}
        kwargs: dict[str, Any] = {
            "model": model, "messages": request.messages, "temperature": request.temperature,
            "max_tokens": request.max_tokens, "stream": True, "stream_options": {"include_usage": True},
            "timeout": request.timeout,
        }
        mode = ""
        if request.json_mode:
            mode = _structured_mode(url, model, request)
            params["structured"] = _set_response_format(kwargs, mode, request.schema)
        max_retries = max(0, int(settings.LLM_MAX_RETRIES))
        started = time.monotonic()
        failures: list[str] = []

        while True:
            state = _Attempt(model=model)
            try:
                async with _slot(url, request.max_concurrency):
                    try:
                        await self._attempt(client, kwargs, state, on_delta, should_stop)
                    except _EmptyStream:
                        raise await _overflow_failure(client, request) from None
                break
            except _Failure as failure:
                if failure.status in (400, 422) and mode in FALLBACK:
                    # The server refuses the parameter: the next way down, remembered for later calls.
                    mode = _fallback_modes[(url, model)] = FALLBACK[mode]
                    params["structured"] = _set_response_format(kwargs, mode, request.schema)
                    log.warning("model server %s refused a structured-output parameter (%s); using %s from now on",
                                url, _scrub(failure.description, api_key), mode)
                    continue
                failures.append(_scrub(failure.description, api_key))
                if not failure.retryable or len(failures) > max_retries:
                    raise LLMUnavailable(_summary(failures), attempts=len(failures)) from failure.__cause__
                delay = _backoff(len(failures), failure.retry_after)
                log.warning("model call to %s failed (attempt %d of %d): %s; retrying in %.2f s",
                            url, len(failures), max_retries + 1, failures[-1], delay)
            if await sleep_until(time.monotonic() + delay, should_stop):
                state.interrupted = True  # keep the failed attempt's text: the consumer has it
                break
            if state.parts and on_reset is not None:
                await on_reset()

        text = "".join(state.parts)
        now = time.monotonic()
        usage = state.usage
        return ChatResult(
            text=text,
            # An attempt the server never answered costs no prompt tokens.
            prompt_tokens=usage["prompt_tokens"] if usage else (
                estimate_prompt_tokens(request.messages) if state.chunks else 0),
            completion_tokens=usage["completion_tokens"] if usage else estimate_tokens(text),
            usage_estimated=usage is None,
            latency_ms=(now - started) * 1000,
            first_token_ms=(state.first_token_at - started) * 1000 if state.first_token_at else None,
            attempts=len(failures) + 1,
            interrupted=state.interrupted,
            model=state.model,
            params=params,
            finish_reason=state.finish_reason or "",
        )

    async def _attempt(self, client: openai.AsyncOpenAI, kwargs: dict, state: _Attempt,
                       on_delta: DeltaCallback, should_stop: StopCheck) -> None:
        url = str(client.base_url).rstrip("/")
        timeout = kwargs["timeout"]
        opened = client.chat.completions.with_streaming_response.create(**kwargs)
        response = await _network(opened.__aenter__(), should_stop, state, url, timeout)
        if response is _STOPPED:
            state.interrupted = True
            return
        state.receiving = True
        lines = response.http_response.aiter_lines()
        data: list[str] = []
        try:
            while True:
                if should_stop():
                    state.interrupted = True
                    return
                line = await _network(_next(lines), should_stop, state, url, timeout)
                if line is _STOPPED:
                    state.interrupted = True
                    return
                if line is _END or not line:  # a blank line ends an event; the end of the body ends the last
                    if data:
                        payload, data = "\n".join(data), []
                        if payload.startswith("[DONE]"):
                            _check_complete(state, done=True)
                            return
                        state.chunks += 1
                        text = _read_chunk(payload, state, url, timeout)
                        if text:
                            if state.first_token_at is None:
                                state.first_token_at = time.monotonic()
                            state.parts.append(text)
                            await on_delta(text)
                    if line is _END:
                        _check_complete(state, done=False)
                        return
                elif line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                # other fields (event:, id:, retry:) and comments (":") carry nothing for chat completions
        finally:
            await lines.aclose()
            await opened.__aexit__(None, None, None)


async def _overflow_failure(client: openai.AsyncOpenAI, request: ChatRequest) -> _Failure:
    """Name the likely cause of an empty 200: the prompt's size against the server's context."""
    prompt = estimate_prompt_tokens(request.messages)
    context = await server_context(client) or request.context_window
    if context and prompt > context:
        return _Failure(f"the model server sent an empty reply: the prompt is about {prompt:,} tokens; "
                        f"the server's context is {context:,}", retryable=False)
    if context:
        return _Failure(f"the model server sent an empty reply (the prompt is about {prompt:,} tokens; "
                        f"the server's context is {context:,})")
    return _Failure(f"the model server sent an empty reply (the prompt is about {prompt:,} tokens: "
                    f"longer than the server's context?)")


async def server_context(client: openai.AsyncOpenAI) -> int:
    """The context size a llama.cpp server reports at /props (0 if it says none)."""
    root = str(client.base_url).rstrip("/").removesuffix("/v1")
    try:
        async with httpx2.AsyncClient(timeout=3.0) as http:
            response = await http.get(f"{root}/props", headers={"Authorization": f"Bearer {client.api_key}"})
        props = response.json() if response.status_code == 200 else {}
        n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx") or props.get("n_ctx")
        return int(n_ctx or 0)
    except (httpx2.HTTPError, ValueError, TypeError, AttributeError):
        return 0


class _EmptyStream(Exception):
    """200 and not one chunk: llama.cpp's answer to a prompt longer than its context."""


def _check_complete(state: _Attempt, done: bool) -> None:
    """A reply counts only if the server said how it ended: a finish reason, then [DONE]."""
    if not state.chunks:
        raise _EmptyStream()
    if state.finish_reason is None:
        raise _Failure("the stream ended without a finish reason: the server cut the reply short"
                       + (" (llama.cpp does when another request arrives)" if done else ""))
    if not done:
        raise _Failure("the stream ended without [DONE]: the reply may be incomplete")


def _read_chunk(payload: str, state: _Attempt, url: str, timeout: float) -> str | None:
    """One chat.completion.chunk: note its model and usage, return its text."""
    try:
        chunk = json.loads(payload)
        if not isinstance(chunk, dict):
            raise ValueError("a chunk must be a JSON object")
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else None
            raise _Failure("model server reported an error mid-stream: "
                           + (message if isinstance(message, str) and message else "an error occurred")[:200])
        if chunk.get("model"):
            state.model = str(chunk["model"])
        usage = chunk.get("usage")
        if usage:
            state.usage = {"prompt_tokens": int(usage.get("prompt_tokens") or 0),
                           "completion_tokens": int(usage.get("completion_tokens") or 0)}
        choices = chunk.get("choices")
        if not choices:
            return None
        if choices[0].get("finish_reason"):
            state.finish_reason = str(choices[0]["finish_reason"])
        text = (choices[0].get("delta") or {}).get("content")
        if text is not None and not isinstance(text, str):
            raise ValueError("delta content must be text")
        return text
    except (ValueError, TypeError, AttributeError) as exc:
        raise _classify(exc, url, timeout, True) from exc


async def _next(lines):
    try:
        return await lines.__anext__()
    except StopAsyncIteration:
        return _END


class _StopPump:
    """One timer per event loop for every network wait in flight on it: each
    STOP_POLL it cancels the waits whose should_stop() turned true."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.waits: dict[asyncio.Task, StopCheck] = {}
        self.stopped: set[asyncio.Task] = set()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, task: asyncio.Task, should_stop: StopCheck) -> None:
        self.waits[task] = should_stop
        if self.timer is None:
            self.timer = self.loop.call_later(STOP_POLL, self._tick)

    def remove(self, task: asyncio.Task) -> bool:
        """Forget the task; True if the pump cancelled it."""
        self.waits.pop(task, None)
        if task in self.stopped:
            self.stopped.discard(task)
            return True
        return False

    def _tick(self) -> None:
        self.timer = None
        for task, should_stop in list(self.waits.items()):
            try:
                stop = should_stop()
            except Exception:
                stop = False
            if stop and task not in self.stopped:
                self.stopped.add(task)
                task.cancel()
        if self.waits:
            self.timer = self.loop.call_later(STOP_POLL, self._tick)


_pumps: dict[asyncio.AbstractEventLoop, _StopPump] = {}


def _pump() -> _StopPump:
    loop = asyncio.get_running_loop()
    pump = _pumps.get(loop)
    if pump is None:
        for old in [lp for lp in _pumps if lp.is_closed()]:
            del _pumps[old]
        pump = _pumps[loop] = _StopPump(loop)
    return pump


async def _network(awaitable, should_stop: StopCheck, state: _Attempt, url: str, call_timeout: float):
    """Await a network step; _STOPPED soon after should_stop() turns true, _Failure on errors."""
    if should_stop():
        awaitable.close()
        return _STOPPED
    task = asyncio.current_task()
    pump = _pump()
    pump.add(task, should_stop)
    try:
        return await awaitable
    except asyncio.CancelledError:
        if pump.remove(task):
            task.uncancel()  # our own cancel, for a stop: the caller sees _STOPPED
            return _STOPPED
        raise
    except (openai.OpenAIError, httpx2.HTTPError, ValueError) as exc:  # ValueError: a chunk that is not JSON
        raise _classify(exc, url, call_timeout, state.receiving) from exc
    finally:
        pump.remove(task)


def _classify(exc: Exception, url: str, timeout: float, receiving: bool) -> _Failure:
    if isinstance(exc, _Failure):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return _Failure(f"timed out after {round(float(timeout), 2)} s")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):  # httpx2's: raised while reading lines
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
        if status == 404 and not url.rstrip("/").endswith("/v1"):
            description += f"; the base URL probably needs /v1 ({url.rstrip('/')}/v1)"
        return _Failure(description, retryable, _retry_after(exc.response.headers), status)
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
