"""One background event loop per process, for sync code that must do async
I/O (the channel layer, the async OpenAI client).

Celery worker threads and Django's sync views hand coroutines to this loop
and wait on the result, so every connection pool lives on one loop and is
reused, instead of a loop (and a fresh Redis connection) per call.
"""

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new_loop = asyncio.new_event_loop()
            thread = threading.Thread(target=new_loop.run_forever, name="collab-aio", daemon=True)
            thread.start()
            _loop = new_loop
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on the shared loop from a thread that is not that loop."""
    return asyncio.run_coroutine_threadsafe(coro, loop()).result(timeout)


def submit(coro: Coroutine[Any, Any, Any]) -> None:
    """Fire and forget on the shared loop."""
    asyncio.run_coroutine_threadsafe(coro, loop())
