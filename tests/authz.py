"""The authorization matrix's machinery: the people, the world they act in,
the cases and how an answer is judged. The rows live in
tests/test_authz_matrix.py and in any tests/authz_rows_<app>.py module (a
dict named ROWS, same shape), so an app adds its rows in a file of its own.

Websocket routes other than the session's (whose frame actions have rows of
their own) go in a dict named SOCKETS: route -> SocketCases.

A row is keyed by URL name and holds one or more Cases: how to call the URL
(method, path kwargs, data, a prepare step that puts the world in the state
the action needs) and what each of the seven actors gets.

Outcomes:
  "ok"        200, or a redirect that is not to the login page and carries no error message
  "login"     a redirect to the login page
  "hidden"    404 (the object's existence is not revealed)
  "forbidden" 403
  "public"    200 or 503 (a health answer)
  "refused: <words>"  a redirect whose error message contains <words>
  "status <n>"  exactly that status
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import User
from django.contrib.messages import constants, get_messages
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver

ACTORS = ["anonymous", "unrelated", "observer", "annotator", "participant", "owner", "staff"]
MEMBERS = ["observer", "annotator", "participant", "owner"]


def expect(default: str, **per_actor: str) -> dict[str, str]:
    """An outcome for every actor: `default` unless named."""
    unknown = set(per_actor) - set(ACTORS)
    assert not unknown, f"unknown actors {unknown}; the actors are {ACTORS}"
    return {actor: per_actor.get(actor, default) for actor in ACTORS}


def signed_in(default: str = "ok", **per_actor: str) -> dict[str, str]:
    return expect(default, anonymous="login", **per_actor)


def session_members(default: str = "ok", **per_actor: str) -> dict[str, str]:
    """Members of the session get `default`; others do not learn it exists."""
    return expect(default, anonymous="login", unrelated="hidden", staff="hidden", **per_actor)


@dataclass
class World:
    """One private session owned by `owner`, with an observer, an annotator and
    a participant; `unrelated` and `staff` (is_staff, not a member) are users
    with no part in it. Builders of other apps put their objects in `extra`."""

    users: dict[str, User | None]
    session: object
    team: object
    extra: dict = field(default_factory=dict)


def build_world() -> World:
    from collab.sessions import services
    from collab.sessions.models import Membership
    from tests.engine_helpers import make_team

    users: dict[str, User | None] = {"anonymous": None}
    for actor in ACTORS[1:]:
        users[actor] = User.objects.create(username=actor, is_staff=actor == "staff")  # force_login needs no password
    owner = users["owner"]
    session = services.session_create(owner=owner, team=make_team(owner), title="Matrix session")
    for actor in ("observer", "annotator", "participant"):
        Membership.objects.create(session=session, user=users[actor], capacity=actor)
    return World(users=users, session=session, team=session.team)


@dataclass
class Case:
    expect: dict[str, str]
    method: str = "GET"
    kwargs: Callable[[World], dict] = lambda w: {}
    data: Callable[[World], dict] = lambda w: {}
    prepare: Callable[[World], None] | None = None
    query: str = ""
    label: str = ""
    content_type: str | None = None  # a JSON door: data returns the body as a string


@dataclass
class SocketCase:
    """One websocket route: connect to `path` as each actor, optionally change
    the world (`after_connect`), send `frame` and judge the first answer with
    `answer` (the frames the server sent -> an outcome). Outcomes: "closed"
    (refused at connect), "ok", "refused: <words>"."""

    expect: dict[str, str]
    path: Callable[[World], str]
    answer: Callable[[list[str]], str]
    prepare: Callable[[World], None] | None = None
    frame: Callable[[World], dict] | None = None
    after_connect: Callable[[World], None] | None = None
    label: str = ""


def judge(response) -> str:
    """The outcome a response shows, in the vocabulary above."""
    code = response.status_code
    if code in (301, 302, 303):
        location = response["Location"]
        if location.startswith((resolve_url("login"), resolve_url("admin:login"))):
            return "login"
        errors = [str(m) for m in get_messages(response.wsgi_request) if m.level >= constants.ERROR]
        return f"refused: {errors[0]}" if errors else "ok"
    return {200: "ok", 404: "hidden", 403: "forbidden"}.get(code, f"status {code}")


def matches(outcome: str, wanted: str) -> bool:
    if wanted.startswith("refused:"):
        return outcome.startswith("refused:") and wanted.removeprefix("refused:").strip() in outcome
    if wanted == "public":
        return outcome in {"ok", "status 503"}
    return outcome == wanted


def url_names() -> dict[str, str]:
    """Every named URL of the URL conf (namespaced as name:space), with its route."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                found.setdefault(namespace + p.name, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):  # a namespace's row (admin:*) covers it; elsewhere it needs a name
                found.setdefault(f"{namespace}(unnamed {prefix}{p.pattern})", prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "/", "")
    return found


def _collect(name: str) -> dict:
    """The dict `name` of every tests/authz_rows_<app>.py module that has one, merged."""
    rows: dict = {}
    here = Path(__file__).parent
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith("authz_rows_"):
            found = getattr(importlib.import_module(f"tests.{info.name}"), name, {})
            clash = set(rows) & set(found)
            assert not clash, f"rows for {clash} are given twice"
            rows.update(found)
    return rows


def extra_rows() -> dict[str, list[Case]]:
    """ROWS of every tests/authz_rows_<app>.py module."""
    return _collect("ROWS")


def extra_socket_rows() -> dict[str, list[SocketCase]]:
    """SOCKETS of every tests/authz_rows_<app>.py module: websocket route -> cases."""
    return _collect("SOCKETS")


def socket_routes() -> set[str]:
    """Every websocket route the ASGI application serves."""
    from channels.routing import URLRouter

    from collab.asgi import application

    app = application.application_mapping["websocket"]
    while not isinstance(app, URLRouter):  # through the origin check and the auth middleware
        app = getattr(app, "inner", None) or app.application
    return {str(route.pattern) for route in app.routes}
