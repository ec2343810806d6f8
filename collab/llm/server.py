"""The configured model server: its URL, its default model, and a check that
says in one line per problem what is wrong (collab_check, start-up, /healthz,
the session page's "test connection").

Blocking I/O (the sync openai client): call it from a management command, a
view or a background thread, never from the shared event loop.
"""

import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import openai
from django.conf import settings

from collab.llm.base_url import server_url_problem

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"  # for api.openai.com when OPENAI_MODEL is unset
CHECK_TIMEOUT = 5.0


class ModelConfigError(Exception):
    """A configuration mistake that no retry fixes; the message names the variable."""


@dataclass
class Target:
    """One server to check: what a profile (or the settings) points at."""

    base_url: str  # "" for api.openai.com
    model: str
    api_key: str
    label: str = "the model server"

    @property
    def shown_url(self) -> str:
        return self.base_url or "https://api.openai.com/v1"


def _client(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=target.base_url or None, api_key=target.api_key or "not-needed", max_retries=0,
                         timeout=CHECK_TIMEOUT)


def list_models(target: Target) -> list[str]:
    """The model ids the server lists at /models; raises openai errors."""
    with _client(target) as client:
        return [m.id for m in client.models.list().data]


_default_model: dict[str, str] = {}
_default_lock = threading.Lock()


def default_model() -> str:
    """OPENAI_MODEL; unset, the only model a custom OPENAI_BASE_URL lists, or
    gpt-4o-mini for api.openai.com. Asked once per process."""
    if settings.OPENAI_MODEL:
        return settings.OPENAI_MODEL
    if not settings.OPENAI_BASE_URL:
        return DEFAULT_OPENAI_MODEL
    with _default_lock:
        if settings.OPENAI_BASE_URL not in _default_model:
            _default_model[settings.OPENAI_BASE_URL] = _only_model(settings.OPENAI_BASE_URL)
        return _default_model[settings.OPENAI_BASE_URL]


def _only_model(base_url: str) -> str:
    target = Target(base_url, "", settings.OPENAI_API_KEY)
    try:
        models = list_models(target)
    except openai.OpenAIError as exc:
        raise ModelConfigError(f"OPENAI_MODEL is unset and the server's model list could not be read "
                               f"({describe(exc, target)}): set OPENAI_MODEL") from None
    if len(models) != 1:
        listed = ", ".join(models[:8]) + (", ..." if len(models) > 8 else "") if models else "none"
        raise ModelConfigError(f"OPENAI_MODEL is unset and {base_url} lists {len(models)} models ({listed}): "
                               f"set OPENAI_MODEL to one of them")
    return models[0]


def describe(exc: Exception, target: Target) -> str:
    """One line for what went wrong talking to the server."""
    url = target.shown_url
    if isinstance(exc, openai.APITimeoutError):
        return f"{url} did not answer within {CHECK_TIMEOUT:g} s"
    if isinstance(exc, openai.APIConnectionError):
        chain, seen = [], exc
        while seen is not None and len(chain) < 10:
            chain.append(seen)
            seen = seen.__cause__ or seen.__context__
        if any(isinstance(e, socket.gaierror) or "name or service not known" in str(e).lower()
               or "nodename nor servname" in str(e).lower() for e in chain):
            return f"cannot reach {url}: host {urlsplit(url).hostname!r} not found"
        if any(isinstance(e, ConnectionRefusedError) or "refused" in str(e).lower() for e in chain):
            return f"cannot reach {url}: connection refused (is the server running on that port?)"
        return f"cannot reach {url}: {str(chain[-1])[:160] or type(chain[-1]).__name__}"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return f"{url} refused the key (HTTP {exc.status_code}): check the key variable"
    if isinstance(exc, openai.NotFoundError):
        hint = "" if urlsplit(url).path.rstrip("/").endswith("/v1") else \
            f"; the base URL probably needs /v1 ({url.rstrip('/')}/v1)"
        return f"{url} answered HTTP 404 (not found){hint}"
    if isinstance(exc, openai.APIStatusError):
        return f"{url} answered HTTP {exc.status_code}: {str(exc.message)[:160]}"
    if isinstance(exc, openai.APIResponseValidationError):
        return f"{url} does not answer like an OpenAI-compatible API (is the path right?)"
    return f"{url}: {type(exc).__name__}: {str(exc)[:160]}"


def check(target: Target) -> list[str]:
    """What is wrong with `target`, one line per problem; [] when a tiny completion worked."""
    if target.base_url:
        problem = server_url_problem(target.base_url)
        if problem:
            return [problem]
    try:
        models = list_models(target)
    except openai.OpenAIError as exc:
        return [describe(exc, target)]
    except ValueError:
        return [f"{target.shown_url} does not answer like an OpenAI-compatible API (is the path right?)"]
    if not target.model:
        return ["no model named: set the profile's model or OPENAI_MODEL"]
    if models and not _listed(target.model, models):
        listed = ", ".join(models[:8]) + (", ..." if len(models) > 8 else "")
        return [f"unknown model {target.model!r} at {target.shown_url}; it lists: {listed}"]
    try:
        with _client(target) as client:
            client.chat.completions.create(model=target.model, max_tokens=1,
                                           messages=[{"role": "user", "content": "Say OK."}])
    except openai.OpenAIError as exc:
        return [f"a test completion failed: {describe(exc, target)}"]
    return []


def _listed(model: str, models: list[str]) -> bool:
    # Ollama lists "llama3:latest" and answers to "llama3".
    return model in models or f"{model}:latest" in models


def configured_target() -> Target:
    """The server from the settings (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL)."""
    try:
        model = default_model()
    except ModelConfigError:
        model = ""
    return Target(settings.OPENAI_BASE_URL, model, settings.OPENAI_API_KEY, "the configured model server")


# --- /healthz: the last check's result, refreshed in the background ------------------

HEALTH_MAX_AGE = 60.0
_health: dict = {"ok": None, "state": "not checked yet", "checked_at": None}
_health_lock = threading.Lock()
_health_running = threading.Event()


def health_state() -> dict:
    """The configured server's state without waiting on it: the last result, and
    a refresh started in a background thread when that is older than a minute."""
    with _health_lock:
        state = dict(_health)
    stale = state["checked_at"] is None or time.monotonic() - state["checked_at"] > HEALTH_MAX_AGE
    if stale and not _health_running.is_set():
        _health_running.set()
        threading.Thread(target=_refresh_health, name="model-server-check", daemon=True).start()
    age = None if state["checked_at"] is None else round(time.monotonic() - state["checked_at"])
    return {"ok": state["ok"], "state": state["state"], "checked_seconds_ago": age}


def _refresh_health() -> None:
    try:
        problems = check(configured_target())
        result = {"ok": not problems, "state": problems[0] if problems else "ok"}
    except Exception as exc:  # a check must never take the health page down
        result = {"ok": False, "state": f"check failed: {type(exc).__name__}"}
    with _health_lock:
        _health.update(result, checked_at=time.monotonic())
    _health_running.clear()
