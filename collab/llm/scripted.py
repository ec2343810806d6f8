"""A provider that streams a reply composed in advance, at a steady pace.

Used for demos and tests without a model server: the engine puts the text in
`request.scripted_reply`; this streams it word by word, one word a "token".
"""

import asyncio
import re
import time

from django.conf import settings

from collab.llm.base import (
    ChatRequest,
    ChatResult,
    DeltaCallback,
    StopCheck,
    estimate_prompt_tokens,
    estimate_tokens,
    sleep_until,
)


def word_chunks(text: str) -> list[str]:
    """Words with their leading whitespace; joined they give `text` back."""
    return re.findall(r"\s*\S+|\s+$", text)


class ScriptedProvider:
    kind = "scripted"

    async def stream(self, request: ChatRequest, on_delta: DeltaCallback, should_stop: StopCheck,
                     *, on_reset=None) -> ChatResult:
        # on_reset is never called: a scripted stream has no failed attempts to take back.
        tps = request.scripted_tokens_per_second
        if tps is None:
            tps = settings.SCRIPTED_TOKENS_PER_SECOND
        started = time.monotonic()
        parts: list[str] = []
        first_token_at = None
        interrupted = False

        for i, chunk in enumerate(word_chunks(request.scripted_reply)):
            if tps > 0:
                # Pace against the start time, so sleep overhead does not add up.
                interrupted = await sleep_until(started + (i + 1) / tps, should_stop)
            else:
                await asyncio.sleep(0)
                interrupted = should_stop()
            if interrupted:
                break
            if first_token_at is None:
                first_token_at = time.monotonic()
            parts.append(chunk)
            await on_delta(chunk)

        text = "".join(parts)
        return ChatResult(
            text=text,
            prompt_tokens=estimate_prompt_tokens(request.messages),
            completion_tokens=estimate_tokens(text),
            usage_estimated=True,
            latency_ms=(time.monotonic() - started) * 1000,
            first_token_ms=(first_token_at - started) * 1000 if first_token_at is not None else None,
            interrupted=interrupted,
            model="scripted",
            params={"model": "scripted", "tokens_per_second": tps},
        )
