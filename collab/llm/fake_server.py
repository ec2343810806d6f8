"""A fake OpenAI-compatible chat server for tests and benchmarks.

Standard library only: raw HTTP/1.1 over asyncio streams, with keep-alive,
so one process serves hundreds of concurrent streams. It answers
`POST /v1/chat/completions` (also `/chat/completions`) and `GET /v1/models`.

Behaviour comes from a `FakeServerConfig` (mutable while running) and, per
request, from `[[fake:key=value]]` directives in the last user/system message:

    [[fake:reply=hello world]] [[fake:latency=0.5]] [[fake:error=429]]
    [[fake:chunk_delay=0.1]] [[fake:chunk_size=3]] [[fake:usage=0]]

Injected failures, from `config.failures` (one consumed per request) or the
`error` directive: "429", "500", "503" (any status code works), "timeout"
(never answer), "malformed" (a broken SSE chunk mid-stream, then close) and
"drop" (close the connection mid-stream).

    python -m collab.llm.fake_server --port 8765 --latency 1.0
"""

import argparse
import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from collab.llm.base import estimate_prompt_tokens

HOST = "127.0.0.1"
_DIRECTIVE = re.compile(r"\[\[fake:([a-z_]+)=(.*?)\]\]", re.DOTALL)
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}
_ERROR_TYPES = {429: "rate_limit_exceeded", 503: "service_unavailable"}


@dataclass
class FakeServerConfig:
    latency: float = 0.0  # seconds before the first byte of a response
    chunk_delay: float = 0.0  # seconds between streamed chunks
    reply: str | None = None  # None: a deterministic reply built from the request
    chunk_size: int = 1  # units per streamed chunk
    chunk_by: str = "word"  # "word" or "char"
    send_usage: bool = True  # send the usage chunk when the client asks for it
    failures: list[str] = field(default_factory=list)  # consumed one per request
    replies: list[str] = field(default_factory=list)  # consumed one per answered request
    retry_after: float = 0.0  # Retry-After header sent with 429s
    hang_seconds: float = 3600.0  # how long "timeout" keeps a request waiting
    model: str = "fake-model"  # listed by /v1/models, used when a request names none


@dataclass
class _Plan:
    """What one request gets: the config with its directives applied."""

    latency: float
    chunk_delay: float
    chunk_size: int
    chunk_by: str
    send_usage: bool
    retry_after: float
    failure: str | None
    reply: str


class _HTTPError(Exception):
    pass


def message_text(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def count_tokens(text: str) -> int:
    """The fake server's own token count (words and punctuation), unlike base.estimate_tokens."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def split_chunks(text: str, size: int = 1, by: str = "word") -> list[str]:
    size = max(1, size)
    if by == "char":
        units = list(text)
    else:
        units = re.findall(r"\s*\S+|\s+$", text)
    return ["".join(units[i:i + size]) for i in range(0, len(units), size)]


class FakeOpenAIServer:
    def __init__(self, config: FakeServerConfig | None = None, port: int = 0):
        self.config = config or FakeServerConfig()
        self.requests: list[dict] = []
        self.authorizations: list[str] = []  # the Authorization header of each chat request, in order
        self.port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    async def start(self) -> "FakeOpenAIServer":
        self._server = await asyncio.start_server(self._connection, HOST, self.port, backlog=2048,
                                                  limit=1 << 20)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Before Python 3.12 closing the server leaves open connections alone.
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "FakeOpenAIServer":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # HTTP ------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, _HTTPError):
            pass
        except asyncio.CancelledError:
            pass  # stop() cancels open connections; re-raising makes Python 3.11's asyncio log each one
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError as exc:
            raise _HTTPError(lines[0]) from exc
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await self._read_body(reader, headers)
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        path = target.split("?", 1)[0].rstrip("/")

        if method == "GET" and path in ("/v1/models", "/models"):
            data = [{"id": self.config.model, "object": "model", "created": 0, "owned_by": "fake"}]
            await self._send_json(writer, 200, {"object": "list", "data": data}, keep_alive)
        elif method == "POST" and path in ("/v1/chat/completions", "/chat/completions"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                await self._send_error(writer, 400, "invalid JSON body", keep_alive)
                return keep_alive
            self.requests.append(payload)
            self.authorizations.append(headers.get("authorization", ""))
            return await self._chat(writer, payload, keep_alive)
        else:
            await self._send_error(writer, 404, f"no route for {method} {path}", keep_alive)
        return keep_alive

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await reader.readexactly(size + 2)
                if size == 0:
                    return body[:-2]
                body = body[:-2]
        length = int(headers.get("content-length") or 0)
        return await reader.readexactly(length) if length else b""

    def _head(self, status: int, headers: dict) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def _send_json(self, writer, status: int, obj: dict, keep_alive: bool, extra: dict | None = None):
        body = json.dumps(obj).encode()
        headers = {"Content-Type": "application/json", "Content-Length": len(body),
                   "Connection": "keep-alive" if keep_alive else "close", **(extra or {})}
        writer.write(self._head(status, headers) + body)
        await writer.drain()

    async def _send_error(self, writer, status: int, message: str, keep_alive: bool, extra=None):
        error = {"message": message, "type": _ERROR_TYPES.get(status, "server_error" if status >= 500
                                                              else "invalid_request_error"),
                 "param": None, "code": _ERROR_TYPES.get(status)}
        await self._send_json(writer, status, {"error": error}, keep_alive, extra)

    # Chat --------------------------------------------------------------------

    def _plan(self, payload: dict) -> _Plan:
        c = self.config
        messages = payload.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") in ("user", "system")), None)
        text = message_text(last) if last else ""
        directives = dict(_DIRECTIVE.findall(text))
        failure = c.failures.pop(0) if c.failures else None
        failure = directives.get("error") or failure

        if "reply" in directives:
            reply = directives["reply"]
        elif failure in ("malformed", "drop"):  # a failed attempt does not use up a scripted reply
            reply = c.replies[0] if c.replies else c.reply
        elif failure is None and c.replies:
            reply = c.replies.pop(0)
        else:
            reply = c.reply
        if reply is None:
            model = payload.get("model") or c.model
            reply = f"Reply from {model} to: {_DIRECTIVE.sub('', text).strip()[:60]}"

        return _Plan(
            latency=float(directives.get("latency", c.latency)),
            chunk_delay=float(directives.get("chunk_delay", c.chunk_delay)),
            chunk_size=int(directives.get("chunk_size", c.chunk_size)),
            chunk_by=directives.get("chunk_by", c.chunk_by),
            send_usage=directives.get("usage", "1" if c.send_usage else "0") not in ("0", "false", "no"),
            retry_after=float(directives.get("retry_after", c.retry_after)),
            failure=failure,
            reply=reply,
        )

    async def _chat(self, writer: asyncio.StreamWriter, payload: dict, keep_alive: bool) -> bool:
        plan = self._plan(payload)
        if plan.failure == "timeout":
            await asyncio.sleep(self.config.hang_seconds)
            return False
        if plan.latency > 0:
            await asyncio.sleep(plan.latency)
        if plan.failure and plan.failure.isdigit():
            status = int(plan.failure)
            extra = {"Retry-After": f"{plan.retry_after:g}"} if status == 429 else None
            await self._send_error(writer, status, f"fake error {status}", keep_alive, extra)
            return keep_alive

        model = payload.get("model") or self.config.model
        usage = _usage(payload, plan.reply)
        if not payload.get("stream"):
            if plan.failure == "drop":
                return False
            if plan.failure == "malformed":
                writer.write(self._head(200, {"Content-Type": "application/json", "Content-Length": 10}))
                writer.write(b'{"id": "br')
                await writer.drain()
                return False
            await self._send_json(writer, 200, _completion(model, plan.reply, usage), keep_alive)
            return keep_alive
        return await self._stream(writer, payload, plan, model, usage, keep_alive)

    async def _stream(self, writer, payload: dict, plan: _Plan, model: str, usage: dict, keep_alive: bool):
        writer.write(self._head(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                      "Transfer-Encoding": "chunked",
                                      "Connection": "keep-alive" if keep_alive else "close"}))
        chunks = split_chunks(plan.reply, plan.chunk_size, plan.chunk_by)
        # Failing streams break off halfway (after at least one chunk).
        cut = max(1, len(chunks) // 2) if plan.failure in ("malformed", "drop") else None
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

        def event(obj) -> bytes:
            data = f"data: {obj if isinstance(obj, str) else json.dumps(obj)}\n\n".encode()
            return b"%x\r\n%s\r\n" % (len(data), data)

        def choice(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        writer.write(event(choice({"role": "assistant", "content": ""})))
        for i, chunk in enumerate(chunks):
            if cut is not None and i == cut:
                if plan.failure == "malformed":
                    writer.write(event('{"id": "broken", "choices": [{"delta": {"content": "'))
                    await writer.drain()
                return False
            if i and plan.chunk_delay > 0:
                await writer.drain()
                await asyncio.sleep(plan.chunk_delay)
            writer.write(event(choice({"content": chunk})))
        writer.write(event(choice({}, "stop")))
        include_usage = (payload.get("stream_options") or {}).get("include_usage")
        if include_usage and plan.send_usage:
            writer.write(event({**base, "choices": [], "usage": usage}))
        writer.write(event("[DONE]") + b"0\r\n\r\n")
        await writer.drain()
        return keep_alive


def _usage(payload: dict, reply: str) -> dict:
    prompt = estimate_prompt_tokens(payload.get("messages") or []) + 7  # distinct from the client's estimate
    completion = count_tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(model: str, reply: str, usage: dict) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "usage": usage,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
    }


@contextlib.contextmanager
def run_in_thread(config: FakeServerConfig | None = None, port: int = 0) -> Iterator[FakeOpenAIServer]:
    """Run a server on its own loop in a daemon thread, for sync code."""
    loop = asyncio.new_event_loop()
    server = FakeOpenAIServer(config, port)
    thread = threading.Thread(target=loop.run_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible chat server (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the first byte")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--chunk-size", type=int, default=1)
    parser.add_argument("--chunk-by", choices=("word", "char"), default="word")
    parser.add_argument("--reply", default=None, help="fixed reply text (default: built from the request)")
    parser.add_argument("--no-usage", action="store_true", help="never send a usage chunk")
    args = parser.parse_args(argv)
    config = FakeServerConfig(latency=args.latency, chunk_delay=args.chunk_delay, chunk_size=args.chunk_size,
                              chunk_by=args.chunk_by, reply=args.reply, send_usage=not args.no_usage)

    async def serve() -> None:
        server = await FakeOpenAIServer(config, args.port).start()
        print(f"fake OpenAI server on {server.base_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
