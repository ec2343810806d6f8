"""The authorization matrix: every URL of the URL conf and every websocket
action, for anonymous, an unrelated user, observer, annotator, participant,
owner and staff. A URL without a row fails `test_every_url_has_a_row`, and
the failure says what to add; a socket action without a row fails likewise.

Rows for another app go in tests/authz_rows_<app>.py as a dict named ROWS
(see tests/authz.py for Case, the outcomes and the World's builders)."""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from collab.live import frames
from collab.sessions.models import Seat, Session
from tests.authz import (
    ACTORS,
    Case,
    World,
    build_world,
    expect,
    extra_rows,
    extra_socket_rows,
    judge,
    matches,
    session_members,
    signed_in,
    socket_routes,
    url_names,
)
from tests.test_live_socket import connect, cookie_for, receive_all

OWNER_ONLY = "refused: Only the session's owner"


def session_kwargs(w: World) -> dict:
    return {"pk": w.session.pk}


def action(name: str):
    return lambda w: {"pk": w.session.pk, "action": name}


def set_status(status: str):
    def prepare(w: World) -> None:
        Session.objects.filter(pk=w.session.pk).update(status=status)
    return prepare


def participant_holds_coder(w: World) -> None:
    Seat.objects.filter(session=w.session, role_name="coder").update(
        holder=Seat.Holder.HUMAN, user=w.users["participant"])


def coder_is_awaited(w: World) -> None:
    participant_holds_coder(w)
    session = Session.objects.get(pk=w.session.pk)
    state = {**session.state, "awaiting": {"turn": session.next_turn, "roles": ["coder"], "inputs": {}}}
    Session.objects.filter(pk=w.session.pk).update(status=Session.Status.AWAITING_HUMAN, state=state)


def owner_has_profile(w: World) -> None:
    from collab.teams.models import ModelProfile

    w.extra["profile"] = ModelProfile.objects.create(owner=w.users["owner"], name="Owner's model", provider="openai",
                                                     base_url="http://127.0.0.1:9/v1", model="m")


# One case per action of the session's action door; the socket's actions are judged by the same table.
SESSION_ACTIONS: dict[str, Case] = {
    "start": Case(session_members(OWNER_ONLY, owner="ok"), "POST"),
    "pause": Case(session_members(OWNER_ONLY, owner="ok"), "POST", prepare=set_status("running")),
    "resume": Case(session_members(OWNER_ONLY, owner="ok"), "POST", prepare=set_status("paused")),
    "step": Case(session_members(OWNER_ONLY, owner="ok"), "POST", prepare=set_status("paused")),
    "stop": Case(session_members(OWNER_ONLY, owner="ok"), "POST"),
    "inject": Case(session_members(OWNER_ONLY, owner="ok"), "POST", data=lambda w: {"text": "hello team"}),
    "edit_plan": Case(session_members(OWNER_ONLY, owner="ok"), "POST",
                      data=lambda w: {"text": ["a step"], "owner": ["coder"], "status": ["todo"], "base_version": "0"}),
    "score": Case(session_members(OWNER_ONLY, owner="refused: design-review"), "POST",
                  data=lambda w: {"score:clarity": "3"}),
    "take_seat": Case(session_members("refused: observers watch", owner="ok", participant="ok"), "POST",
                      data=lambda w: {"role": "coder"}),
    "release_seat": Case(session_members(OWNER_ONLY, owner="ok", participant="ok"), "POST",
                         data=lambda w: {"role": "coder"}, prepare=participant_holds_coder),
    "say": Case(session_members("refused: You do not hold", participant="ok"), "POST",
                data=lambda w: {"role": "coder", "text": "my turn"}, prepare=coder_is_awaited),
    "no-such-action": Case(session_members("hidden"), "POST"),
}
for _name, _case in SESSION_ACTIONS.items():
    _case.kwargs, _case.label = action(_name), _name

ROWS: dict[str, list[Case]] = {
    "healthz": [Case(expect("public"))],
    # Django's admin: staff only; a staff user without model permissions gets 403 on the models.
    "admin:*": [Case(expect("login", staff="ok"), label="index"),
                Case(expect("login", staff="forbidden"), label="sessions",
                     kwargs=lambda w: {"_url": reverse("admin:collab_sessions_session_changelist")})],
    "login": [Case(expect("ok"))],
    "logout": [Case(expect("login"), "POST")],  # LOGOUT_REDIRECT_URL is the login page
    "signup": [Case(expect("ok"))],
    "home": [Case(signed_in())],
    "demo_start": [Case(signed_in(), "POST")],
    "session_new": [Case(signed_in()), Case(signed_in(), query="?team=1", label="a team that may not be theirs")],
    "session_detail": [Case(session_members(), kwargs=session_kwargs),
                       Case(session_members(), kwargs=session_kwargs, query="?invite=forged", label="forged invite")],
    "session_transcript": [Case(session_members(), kwargs=session_kwargs)],
    "session_action": list(SESSION_ACTIONS.values()),
    "team_list": [Case(signed_in())],
    "team_new": [Case(signed_in())],
    "team_from_preset": [Case(signed_in(), "POST", kwargs=lambda w: {"key": "debate_panel"})],
    "team_edit": [Case(expect("hidden", anonymous="login", owner="ok"), kwargs=lambda w: {"pk": w.team.pk})],
    "team_delete": [Case(expect("hidden", anonymous="login", owner="ok"), "POST", kwargs=lambda w: {"pk": w.team.pk})],
    "model_profile_list": [Case(signed_in())],
    # Profiles belong to their owner; staff may change any (to publish or fix a shared one).
    "model_profile_edit": [Case(expect("hidden", anonymous="login", owner="ok", staff="ok"), prepare=owner_has_profile,
                                kwargs=lambda w: {"pk": w.extra["profile"].pk})],
    "preset_start": [Case(signed_in(), "POST", kwargs=lambda w: {"key": "courtroom"}),
                     Case(expect("login", **{a: "hidden" for a in ACTORS[1:]}), "POST",
                          kwargs=lambda w: {"key": "no-such-preset"}, label="unknown preset")],
    **extra_rows(),
}


def _covered(name: str) -> bool:
    return name in ROWS or any(key.endswith(":*") and name.startswith(key[:-1]) for key in ROWS)


def _hint(name: str, route: str) -> str:
    if name.startswith("(unnamed"):
        return f"  URL {route} has no name: give its path() a name= in its urls.py, then add a row for that name."
    outcomes = ", ".join(f'{a}="..."' for a in ACTORS)
    return (f"  URL {name!r} ({route}) has no row. Add to ROWS in tests/test_authz_matrix.py or to ROWS in a\n"
            f"  tests/authz_rows_<app>.py module (objects it needs: build them in `prepare` and keep them in w.extra):\n"
            f"    {name!r}: [Case(expect(\"hidden\", {outcomes}),\n"
            f"                    method=\"GET\", kwargs=lambda w: {{<the path's kwargs>}})],\n"
            f"  where each outcome is one of ok, login, hidden, forbidden, public, \"refused: <words>\", \"status <n>\".")


def test_every_url_has_a_row():
    missing = {name: route for name, route in url_names().items() if not _covered(name)}
    hint = "\n".join(_hint(name, route) for name, route in sorted(missing.items()))
    assert not missing, "URLs without an authorization row:\n" + hint


def test_no_row_names_a_missing_url():
    names = url_names()
    stale = [key for key in ROWS if not key.endswith(":*") and key not in names]
    assert not stale, f"rows for URL names the URL conf no longer has: {stale}; remove them"


def _cases():
    for name, cases in ROWS.items():
        for i, case in enumerate(cases):
            for actor in ACTORS:
                yield pytest.param(name, i, actor, id=f"{name}[{case.label or i}]-{actor}")


def _url(name: str, case: Case, world: World) -> str:
    kwargs = dict(case.kwargs(world))
    if "_url" in kwargs:
        return kwargs["_url"]
    return reverse(name.replace(":*", ":index"), kwargs=kwargs or None) + case.query


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "index", "actor"), list(_cases()))
def test_http_matrix(name, index, actor):
    case = ROWS[name][index]
    world = build_world()
    if case.prepare:
        case.prepare(world)
    client = Client()
    if world.users[actor] is not None:
        client.force_login(world.users[actor])
    url = _url(name, case, world)
    extra = {"content_type": case.content_type} if case.content_type else {}
    response = getattr(client, case.method.lower())(url, case.data(world), **extra)
    outcome = judge(response)
    wanted = case.expect[actor]
    assert matches(outcome, wanted), f"{case.method} {url} as {actor}: got {outcome!r}, the matrix says {wanted!r}"


# --- the socket ------------------------------------------------------------------


def socket_outcome(http_outcome: str) -> str:
    """Over the socket, who may not see the session cannot connect at all."""
    return "closed" if http_outcome in {"login", "hidden"} else http_outcome


SOCKET_ROWS: dict[str, Case] = {
    "hello": Case(session_members("ok")),
    **{name: case for name, case in SESSION_ACTIONS.items() if name in frames.FIELDS},
}


def test_every_socket_action_has_a_row():
    missing = sorted(set(frames.FIELDS) - set(SOCKET_ROWS))
    assert not missing, (f"socket actions without an authorization row: {missing}. Add a Case for each to "
                         "SESSION_ACTIONS in tests/test_authz_matrix.py (it serves the HTTP door and the socket).")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", sorted(SOCKET_ROWS))
async def test_socket_matrix(name, actor):
    case = SOCKET_ROWS[name]
    world = await database_sync_to_async(build_world)()
    if case.prepare:
        await database_sync_to_async(case.prepare)(world)
    comm = await connect(world.session.pk, world.users[actor])
    wanted = socket_outcome(case.expect[actor])
    connected, _ = await comm.connect()
    if not connected:
        assert wanted == "closed", f"{actor} could not connect; the matrix says {wanted!r} for {name}"
        return
    await receive_all(comm, 0.2)
    frame = {"type": "hello", "last_seq": 0} if name == "hello" else {"action": name, **case.data(world)}
    await comm.send_to(text_data=json.dumps(frame))
    answers = [json.loads(f) for f in await receive_all(comm, 0.4) if f.startswith("{")]
    await comm.disconnect()
    outcome = f"refused: {answers[0]['reason']}" if answers else "ok"
    assert answers == [] or answers[0]["type"] == "refused", answers
    assert matches(outcome, wanted), f"socket {name} as {actor}: got {outcome!r}, the matrix says {wanted!r}"


# --- every other websocket route -----------------------------------------------------

SESSION_SOCKET = "ws/sessions/<int:session_id>/"  # judged frame by frame above (SOCKET_ROWS)
SOCKETS = extra_socket_rows()


def test_every_socket_route_has_a_row():
    missing = sorted(socket_routes() - {SESSION_SOCKET} - set(SOCKETS))
    assert not missing, (f"websocket routes without an authorization row: {missing}. Add SocketCases for each to "
                         "SOCKETS in the app's tests/authz_rows_<app>.py (see SocketCase in tests/authz.py).")
    stale = sorted(set(SOCKETS) - socket_routes())
    assert not stale, f"socket rows for routes the application no longer serves: {stale}; remove them"


async def frames_until_quiet_or_closed(comm, timeout: float) -> list[str]:
    """What the server sends until it is quiet for `timeout` seconds or closes the socket
    (a socket may answer a refused action, then close)."""
    out = []
    while not await comm.receive_nothing(timeout=timeout):
        message = await comm.receive_output()
        if message["type"] == "websocket.close":
            break
        out.append(message.get("text") or message.get("bytes", b"").decode())
    return out


def _socket_cases():
    for route, cases in SOCKETS.items():
        for i, case in enumerate(cases):
            for actor in ACTORS:
                yield pytest.param(route, i, actor, id=f"{route}[{case.label or i}]-{actor}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("route", "index", "actor"), list(_socket_cases()))
async def test_socket_route_matrix(route, index, actor):
    from channels.testing import WebsocketCommunicator

    from collab.asgi import application

    case = SOCKETS[route][index]
    world = await database_sync_to_async(build_world)()
    if case.prepare:
        await database_sync_to_async(case.prepare)(world)
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if world.users[actor] is not None:
        headers.append((b"cookie", await database_sync_to_async(cookie_for)(world.users[actor])))
    comm = WebsocketCommunicator(application, case.path(world), headers=headers)
    wanted = case.expect[actor]
    connected, _ = await comm.connect()
    if not connected:
        assert wanted == "closed", f"{actor} could not connect to {route}; the matrix says {wanted!r}"
        return
    try:
        await receive_all(comm, 0.2)
        outcome = "ok"
        if case.after_connect:
            await database_sync_to_async(case.after_connect)(world)
        if case.frame:
            await comm.send_to(text_data=json.dumps(case.frame(world)))
            outcome = case.answer(await frames_until_quiet_or_closed(comm, 0.5))
    finally:
        await comm.disconnect()
    assert matches(outcome, wanted), f"socket {route} as {actor}: got {outcome!r}, the matrix says {wanted!r}"
