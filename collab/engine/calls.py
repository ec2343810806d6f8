"""The agents' model calls for one turn, run concurrently on the shared loop.

Free-text replies stream live (deltas batched every ~75 ms); structured
replies are parsed and validated against the turn's schema. Bad output
(broken JSON, empty text, an unknown name, an oversized reply) is re-asked
once, then replaced by the protocol's safe default, and each step is
reported as a notice the commit logs as an event.
"""

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from collab import control
from collab.core.text import storable
from collab.engine.protocols.base import Output, Turn
from collab.engine.schema import parse_json_object, validate_json
from collab.live import bus
from collab.llm.base import ChatRequest, ChatResult, LLMUnavailable
from collab.llm.registry import get_provider


@dataclass
class AgentCall:
    actor: str
    request: ChatRequest
    turn: Turn
    default: Callable[[], dict]
    schema: dict | None = None
    cost_per_1k: tuple[float, float] = (0.0, 0.0)


@dataclass
class CallOutcome:
    actor: str
    output: Output = field(default_factory=Output)
    results: list[tuple[ChatRequest, ChatResult | None, str]] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)
    unavailable: str | None = None
    cost_per_1k: tuple[float, float] = (0.0, 0.0)

    @property
    def model(self) -> str:
        return next((r.model for _, r, _ in self.results if r), "")

    @property
    def finish_reason(self) -> str:
        """How the reply in use ended ("length": cut at max_tokens)."""
        return next((r.finish_reason for _, r, _ in reversed(self.results) if r), "")

    @property
    def prompt_tokens(self) -> int:
        return sum(r.prompt_tokens for _, r, _ in self.results if r)

    @property
    def usage_estimated(self) -> bool:
        return any(r.usage_estimated for _, r, _ in self.results if r)

    @property
    def completion_tokens(self) -> int:
        return sum(r.completion_tokens for _, r, _ in self.results if r)

    @property
    def latency_ms(self) -> float:
        return sum(r.latency_ms for _, r, _ in self.results if r)

    @property
    def cost(self) -> Decimal:
        prompt_rate, completion_rate = self.cost_per_1k
        return Decimal(str(round(self.prompt_tokens * prompt_rate / 1000 + self.completion_tokens * completion_rate / 1000, 6)))

    def records(self, session, turn_index: int) -> list:
        from collab.sessions.models import LLMCall

        rows = []
        limit = settings.MAX_LLM_RESPONSE_CHARS
        for i, (request, result, error) in enumerate(self.results):
            response = result.text if result else ""
            served = (result.model if result else "") or request.model
            rows.append(LLMCall(
                session=session, turn_index=turn_index, actor=self.actor,
                purpose=self.output_purpose + (":retry" if i else ""),
                provider="scripted" if request.model == "scripted" else "openai",
                model=served, requested_model=request.model if request.model != served else "",
                base_url=request.base_url,
                params={"temperature": request.temperature, "max_tokens": request.max_tokens,
                        "json_mode": request.json_mode, "timeout": request.timeout,
                        **({"structured": result.params["structured"]}
                           if result and "structured" in result.params else {})},
                messages=request.messages, response=response[:limit],
                response_cut_from=len(response) if len(response) > limit else None,
                finish_reason=result.finish_reason if result else "",
                prompt_tokens=result.prompt_tokens if result else 0,
                completion_tokens=result.completion_tokens if result else 0,
                usage_estimated=result.usage_estimated if result else False,
                latency_ms=result.latency_ms if result else 0, first_token_ms=result.first_token_ms if result else None,
                attempts=result.attempts if result else 0, error=error,
                cost=self.cost if i == 0 else 0,
            ))
        return rows

    output_purpose: str = "message"


class DeltaStream:
    """Batches token deltas for the browser: at most one send per interval."""

    def __init__(self, session_id: int, turn_index: int, actor: str, live: bool):
        self.session_id, self.turn_index, self.actor, self.live = session_id, turn_index, actor, live
        self.buffer: list[str] = []
        self.last_flush = time.monotonic()
        self.sent_any = False
        self.offset = 0  # characters sent so far, so a client can drop what it already shows

    async def push(self, text: str) -> None:
        if not self.live or not text:
            return
        self.buffer.append(text)
        if time.monotonic() - self.last_flush >= settings.DELTA_FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.buffer:
            return
        text, self.buffer = "".join(self.buffer), []
        offset, self.offset = self.offset, self.offset + len(text)
        if not await bus.watched(self.session_id):
            return  # nobody to show it to; a page that opens later gets the finished message
        await control.save_turn_text(self.session_id, self.turn_index, self.actor, text, first=not self.sent_any)
        self.sent_any = True
        await bus.send(self.session_id, {"type": "turn.delta", "turn": self.turn_index, "actor": self.actor,
                                         "text": text, "offset": offset})

    async def reset(self) -> None:
        self.buffer = []
        self.offset = 0
        if self.sent_any:
            self.sent_any = False
            await bus.send(self.session_id, {"type": "turn.reset", "turn": self.turn_index, "actor": self.actor})


async def run_calls(session_id: int, turn_index: int, calls: list[AgentCall], halt: threading.Event) -> dict:
    start = {"turn": turn_index, "actors": [c.actor for c in calls], "live": calls[0].schema is None if calls else True}
    if await bus.watched(session_id):
        await control.set_turn_in_flight(session_id, start)
        await bus.send(session_id, {"type": "turn.start", **start})
    outcomes = await asyncio.gather(*(run_one(session_id, turn_index, call, halt) for call in calls))
    return {o.actor: o for o in outcomes}


async def _attempt(call: AgentCall, request: ChatRequest, stream: DeltaStream, halt: threading.Event,
                   outcome: CallOutcome) -> ChatResult | None:
    provider = get_provider("scripted" if request.model == "scripted" else "openai")
    try:
        result = await provider.stream(request, lambda text: stream.push(storable(text)), halt.is_set,
                                       on_reset=stream.reset)
    except LLMUnavailable as exc:
        exc.cause = storable(exc.cause)
        outcome.results.append((request, None, exc.cause))
        outcome.unavailable = f"{call.actor}'s model call failed: {exc.cause}"
        return None
    await stream.flush()
    result.text = storable(result.text)  # NUL dropped char by char, so it still equals the deltas sent
    outcome.results.append((request, result, ""))
    return result


def _reask(call: AgentCall, problem: str) -> ChatRequest:
    """The request again, with one line on what was wrong and, for a structured
    reply, the schema restated. The bad reply is not pasted back: small models
    copy it."""
    follow_up = f"Your last reply could not be used: {' '.join(problem.split())[:300]}."
    if call.request.json_mode and call.schema is not None:
        follow_up += " Answer again with only a JSON object that fits this schema:\n" + json.dumps(call.schema)
    elif call.request.json_mode:
        follow_up += " Answer again with only the JSON object asked for."
    else:
        follow_up += " Answer again, briefly and in plain text."
    *earlier, last = call.request.messages
    # Appended to the last user message: some chat templates refuse two user messages in a row.
    messages = [*earlier, {**last, "content": f"{last['content']}\n\n{follow_up}"}] if last["role"] == "user" \
        else [*call.request.messages, {"role": "user", "content": follow_up}]
    return ChatRequest(**{**call.request.__dict__, "messages": messages})


def _problem(call: AgentCall, text: str) -> tuple[dict | None, str | None]:
    if call.schema is None:
        empty_is_a_pass = call.turn.purpose == "talk"
        return None, ("the reply was empty" if not text.strip() and not empty_is_a_pass else None)
    data, problem = parse_json_object(text)
    if problem is None:
        data, problem = validate_json(data, call.schema, path="reply")
    if problem is None and call.turn.check is not None:
        data, problem = call.turn.check(call.actor, data)
    return data, problem


async def run_one(session_id: int, turn_index: int, call: AgentCall, halt: threading.Event) -> CallOutcome:
    outcome = CallOutcome(actor=call.actor, cost_per_1k=call.cost_per_1k, output_purpose=call.turn.purpose)
    stream = DeltaStream(session_id, turn_index, call.actor, live=call.schema is None)
    result = await _attempt(call, call.request, stream, halt, outcome)
    if result is None:
        return outcome
    text = _cap(result.text, outcome)
    data, problem = (None, None) if result.interrupted else _problem(call, text)
    if problem and not halt.is_set():
        outcome.notices.append({"text": f"{call.actor}'s reply was unusable ({problem}); asking once more.",
                                "problem": problem, "reask": True})
        await stream.reset()
        retry = await _attempt(call, _reask(call, problem), stream, halt, outcome)
        if retry is None:
            return outcome
        text = _cap(retry.text, outcome)
        result = retry
        data, problem = (None, None) if retry.interrupted else _problem(call, text)
    output = Output(text=text, data=data, interrupted=result.interrupted)
    if call.schema is not None and (problem or result.interrupted):
        output.data, output.defaulted = call.default(), True
        if problem:
            outcome.notices.append({"text": f"{call.actor}'s reply was still unusable ({problem}); using the default.",
                                    "problem": problem, "default": output.data})
    elif problem:
        output.text, output.defaulted = "(no reply)", True
        outcome.notices.append({"text": f"{call.actor} gave no usable reply twice; recorded as '(no reply)'.",
                                "problem": problem})
    outcome.output = output
    return outcome


def _cap(text: str, outcome: CallOutcome) -> str:
    limit = settings.MAX_AGENT_MESSAGE_CHARS
    if len(text) <= limit:
        return text
    outcome.notices.append({"text": f"{outcome.actor}'s reply of {len(text):,} characters was cut to {limit:,}.",
                            "truncated_from": len(text)})
    return text[:limit]
