"""The one interface every model provider implements.

The engine builds a ChatRequest, a provider streams the reply: each text
delta goes to `on_delta` as it arrives, and `should_stop()` is polled so a
pause cuts a stream promptly. The final ChatResult carries the whole text,
usage (from the server, else estimated), latency and attempts.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

DeltaCallback = Callable[[str], Awaitable[None]]
StopCheck = Callable[[], bool]


# The app's own secrets: never sent to a model server as a key, whatever a profile names.
RESERVED_ENV = frozenset({"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "OPENAI_BASE_URL"})


@dataclass
class ChatRequest:
    messages: list[dict]
    model: str = ""
    temperature: float = 0.7
    max_tokens: int = 512
    base_url: str = ""
    api_key_env: str = ""  # the variable the profile names; empty: no key but the operator's for its server
    timeout: float = 60.0
    # For the scripted provider: the reply it streams, composed by the engine
    # from the role, protocol and scenario (collab.engine.scripted).
    scripted_reply: str = ""
    # Tokens per second for scripted streaming; None uses the setting.
    scripted_tokens_per_second: float | None = None
    json_mode: bool = False
    # The structured reply's JSON schema, and how it reaches the server:
    # "json_schema", "json_object" (with the schema, as llama.cpp takes it) or "prompt_only".
    schema: dict | None = None
    structured: str = "json_schema"
    # The server's context in tokens (0: unknown), for naming an overflow.
    context_window: int = 0
    # Requests this server takes at once (0: no limit); calls beyond it wait their turn.
    max_concurrency: int = 0


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_estimated: bool = False
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    attempts: int = 1
    interrupted: bool = False
    model: str = ""
    params: dict = field(default_factory=dict)
    # "stop", "length" (cut at max_tokens), ...; "" when the provider has none to give.
    finish_reason: str = ""


class LLMUnavailable(Exception):
    """Raised when retries are spent; `cause` names why, for the error event."""

    def __init__(self, cause: str, attempts: int = 1):
        super().__init__(cause)
        self.cause = cause
        self.attempts = attempts


class Provider(Protocol):
    kind: str

    async def stream(self, request: ChatRequest, on_delta: DeltaCallback, should_stop: StopCheck, *,
                     on_reset: Callable[[], Awaitable[None]] | None = None) -> ChatResult: ...


def estimate_tokens(text: str) -> int:
    """Token count for servers that send no usage (collab.llm.tokens: a tokenizer, else ~4 characters)."""
    from collab.llm import tokens

    return tokens.count(text)


def estimate_message_tokens(message: dict) -> int:
    return estimate_tokens(str(message.get("content") or "")) + 4  # role and separators


def estimate_prompt_tokens(messages: list[dict]) -> int:
    return sum(estimate_message_tokens(m) for m in messages)


STOP_POLL = 0.05  # longest sleep between should_stop() checks


async def sleep_until(deadline: float, should_stop: StopCheck) -> bool:
    """Sleep until `deadline` (time.monotonic()); True as soon as should_stop() turns true."""
    while not should_stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, STOP_POLL))
    return True
