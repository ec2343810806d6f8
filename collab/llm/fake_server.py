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
(never answer), "malformed" (a broken SSE chunk mid-stream, then close),
"drop" (close the connection mid-stream), "no_finish" (the reply, then
`[DONE]` with no finish reason), "no_done" (the reply and its finish reason,
then the body ends without `[DONE]`) and "empty" (200 and an empty stream).

Quirks of real servers, from the config:
- `send_usage=False`: no usage chunk (many local servers);
- `context_window=N`: a prompt of more than N tokens gets 200 and an empty
  stream, as llama.cpp's server answers an overflow;
- `enforce_max_tokens=True`: a reply is cut at the request's max_tokens
  with finish reason "length";
- `response_formats`: the `response_format` types accepted; another gets a
  400, as from a server that does not know `json_schema`;
- `slots=N` (with `interrupt=True`): N requests generate at a time; one
  more interrupts the oldest stream, which ends with `[DONE]` and no finish
  reason (llama.cpp's `interrupt_requests`), or waits without `interrupt`;
- `follow_schema=True`: a request that carries a JSON schema (in
  `response_format`, or after "schema:" in its last message) is answered
  with the smallest object that fits it, as a model that follows it would.

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

HOST = "127.0.0.1"
_DIRECTIVE = re.compile(r"\[\[fake:([a-z_]+)=(.*?)\]\]", re.DOTALL)
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}
_ERROR_TYPES = {401: "invalid_api_key", 429: "rate_limit_exceeded", 503: "service_unavailable"}


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
    context_window: int = 0  # > 0: longer prompts get 200 and an empty stream
    enforce_max_tokens: bool = False  # cut replies at max_tokens, finish reason "length"
    response_formats: tuple[str, ...] = ("json_schema", "json_object", "text")  # others get a 400
    slots: int = 0  # > 0: requests generating at once; see `interrupt`
    interrupt: bool = False  # a request beyond the slots cuts the oldest stream short (else it waits)
    follow_schema: bool = False  # answer a request's JSON schema with an object that fits it
    served_model: str = ""  # reported in replies instead of the model asked for (Ollama's "x:latest")
    models: list[str] | None = None  # listed by /v1/models; None: just `model`
    v1_only: bool = False  # no routes without /v1 (Ollama), so a base URL missing /v1 gets 404s
    api_key: str = ""  # required as the bearer token when set; else 401


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
    finish: str = "stop"


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
        self._generating: list[asyncio.Event] = []  # one per stream in flight, oldest first: set = cut short
        self._slot_freed: asyncio.Condition | None = None
        self.interrupted = 0  # streams cut short by a newer request
        self.most_concurrent = 0  # the most chat requests in flight at once
        self._in_flight = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    async def start(self) -> "FakeOpenAIServer":
        self._slot_freed = asyncio.Condition()
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

        if self.config.v1_only and not path.startswith("/v1/"):
            path = f"(no /v1){path}"
        if self.config.api_key and headers.get("authorization") != f"Bearer {self.config.api_key}" \
                and path != "/props":
            await self._send_error(writer, 401, "Incorrect API key provided", keep_alive)
            return keep_alive
        if method == "GET" and path in ("/v1/models", "/models"):
            names = self.config.models if self.config.models is not None else [self.config.model]
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names]
            await self._send_json(writer, 200, {"object": "list", "data": data}, keep_alive)
        elif method == "GET" and path == "/props" and self.config.context_window:  # as llama.cpp's server
            await self._send_json(writer, 200, {"default_generation_settings": {"n_ctx": self.config.context_window}},
                                  keep_alive)
        elif method == "POST" and path in ("/v1/chat/completions", "/chat/completions"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                await self._send_error(writer, 400, "invalid JSON body", keep_alive)
                return keep_alive
            self.requests.append(payload)
            self.authorizations.append(headers.get("authorization", ""))
            self._in_flight += 1
            self.most_concurrent = max(self.most_concurrent, self._in_flight)
            try:
                return await self._chat(writer, payload, keep_alive)
            finally:
                self._in_flight -= 1
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
        schema = request_schema(payload, text) if c.follow_schema and "reply" not in directives else None
        if schema is not None:
            reply = json.dumps(instance_of(schema))
        if reply is None:
            model = payload.get("model") or c.model
            reply = f"Reply from {model} to: {_DIRECTIVE.sub('', text).strip()[:60]}"
        finish = "stop"
        max_tokens = payload.get("max_tokens") or payload.get("max_completion_tokens")
        if c.enforce_max_tokens and isinstance(max_tokens, int) and count_tokens(reply) > max_tokens:
            reply, finish = _first_tokens(reply, max_tokens), "length"

        return _Plan(
            latency=float(directives.get("latency", c.latency)),
            chunk_delay=float(directives.get("chunk_delay", c.chunk_delay)),
            chunk_size=int(directives.get("chunk_size", c.chunk_size)),
            chunk_by=directives.get("chunk_by", c.chunk_by),
            send_usage=directives.get("usage", "1" if c.send_usage else "0") not in ("0", "false", "no"),
            retry_after=float(directives.get("retry_after", c.retry_after)),
            failure=failure,
            reply=reply,
            finish=finish,
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

        refused = self._refused_format(payload)
        if refused:
            await self._send_error(writer, 400, refused, keep_alive)
            return keep_alive
        model = self.config.served_model or payload.get("model") or self.config.model
        usage = _usage(payload, plan.reply)
        if self.config.context_window and usage["prompt_tokens"] > self.config.context_window:
            plan.failure = "empty"  # llama.cpp's answer to an overflow: 200, then nothing
        if not payload.get("stream"):
            if plan.failure == "drop":
                return False
            if plan.failure == "empty":
                writer.write(self._head(200, {"Content-Type": "application/json", "Content-Length": 0}))
                await writer.drain()
                return keep_alive
            if plan.failure == "malformed":
                writer.write(self._head(200, {"Content-Type": "application/json", "Content-Length": 10}))
                writer.write(b'{"id": "br')
                await writer.drain()
                return False
            await self._send_json(writer, 200, _completion(model, plan.reply, usage), keep_alive)
            return keep_alive
        cut_short = await self._take_slot()
        try:
            return await self._stream(writer, payload, plan, model, usage, keep_alive, cut_short)
        finally:
            await self._free_slot(cut_short)

    def _refused_format(self, payload: dict) -> str | None:
        response_format = payload.get("response_format")
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind is None or kind in self.config.response_formats:
            return None
        return f"response_format type '{kind}' is not supported"

    async def _take_slot(self) -> asyncio.Event:
        """Wait for a free generation slot, or with `interrupt` take the oldest one's."""
        cut_short = asyncio.Event()
        slots = self.config.slots
        async with self._slot_freed:
            if slots > 0 and self.config.interrupt:
                for victim in self._generating[:max(0, len(self._generating) - slots + 1)]:
                    victim.set()
                    self.interrupted += 1
            elif slots > 0:
                await self._slot_freed.wait_for(lambda: len(self._generating) < slots)
            self._generating.append(cut_short)
        return cut_short

    async def _free_slot(self, cut_short: asyncio.Event) -> None:
        async with self._slot_freed:
            if cut_short in self._generating:
                self._generating.remove(cut_short)
            self._slot_freed.notify_all()

    async def _stream(self, writer, payload: dict, plan: _Plan, model: str, usage: dict, keep_alive: bool,
                      cut_short: asyncio.Event):
        writer.write(self._head(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                      "Transfer-Encoding": "chunked",
                                      "Connection": "keep-alive" if keep_alive else "close"}))
        if plan.failure == "empty":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return keep_alive
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
            if cut_short.is_set():  # interrupted by a newer request: [DONE] without a finish reason
                writer.write(event("[DONE]") + b"0\r\n\r\n")
                await writer.drain()
                return keep_alive
            writer.write(event(choice({"content": chunk})))
        if plan.failure != "no_finish":
            writer.write(event(choice({}, plan.finish)))
        include_usage = (payload.get("stream_options") or {}).get("include_usage")
        if include_usage and plan.send_usage:
            writer.write(event({**base, "choices": [], "usage": usage}))
        writer.write((b"" if plan.failure == "no_done" else event("[DONE]")) + b"0\r\n\r\n")
        await writer.drain()
        return keep_alive


def _first_tokens(text: str, count: int) -> str:
    """The start of `text` up to `count` of the fake server's tokens."""
    matches = list(re.finditer(r"\w+|[^\w\s]", text))
    return text[:matches[count - 1].end()] if count > 0 and len(matches) >= count else text[:0]


_SCHEMA_IN_TEXT = re.compile(r"schema:\s*(\{.*\})", re.DOTALL)


def request_schema(payload: dict, last_text: str) -> dict | None:
    """The JSON schema a request asks its reply to fit, if it carries one."""
    response_format = payload.get("response_format")
    if isinstance(response_format, dict):
        wrapped = response_format.get("json_schema")
        if isinstance(wrapped, dict) and isinstance(wrapped.get("schema"), dict):
            return wrapped["schema"]
        if isinstance(response_format.get("schema"), dict):  # llama.cpp: json_object with a schema
            return response_format["schema"]
    found = _SCHEMA_IN_TEXT.search(_DIRECTIVE.sub("", last_text))
    if found:
        with contextlib.suppress(ValueError):
            schema = json.loads(found.group(1))
            if isinstance(schema, dict) and ("properties" in schema or "type" in schema):
                return schema
    return None


def instance_of(schema: dict):
    """The smallest value that fits `schema` (the subset collab's schemas use)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return instance_of(schema[combinator][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        names = schema.get("required") or list(properties)
        return {name: instance_of(properties.get(name) or {"type": "string"}) for name in names}
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        count = int(schema.get("minItems", 0))
        if items.get("enum") and schema.get("uniqueItems"):
            return list(items["enum"][:count])
        return [instance_of(items) for _ in range(count)]
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else 0)
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        return int(value) if kind == "integer" else value
    if kind == "string":
        return "ok" * max(1, (int(schema.get("minLength", 0)) + 1) // 2)
    if kind == "boolean":
        return False
    return None


def _usage(payload: dict, reply: str) -> dict:
    # The server's own count (words and punctuation, 4 a message), unlike the client's estimate.
    prompt = sum(count_tokens(message_text(m)) + 4 for m in payload.get("messages") or [])
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
