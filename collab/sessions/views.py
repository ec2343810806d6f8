from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from collab.engine import plan as plan_mod
from collab.engine import scenarios
from collab.engine.plan import plan_form_steps
from collab.engine.protocols import PROTOCOLS
from collab.engine.topologies import TOPOLOGIES
from collab.live import fragments
from collab.sessions import launcher, permissions, selectors, services, visibility
from collab.sessions.events import serialize
from collab.sessions.forms import SessionForm
from collab.sessions.models import Event, Membership, Session
from collab.sessions.permissions import Refused
from collab.teams.models import Team
from collab.teams.presets import PRESETS

TRANSCRIPT_PAGE = 100
CONTROLS = {
    Session.Status.DRAFT: ["start", "stop"],
    Session.Status.RUNNING: ["pause", "stop"],
    Session.Status.AWAITING_HUMAN: ["pause", "stop"],
    Session.Status.PAUSED: ["resume", "step", "stop"],
}
LIVE_WINDOW = 300


def visible_sessions(user):
    return Session.objects.filter(Q(owner=user) | Q(memberships__user=user)).distinct()


@login_required
def home(request):
    sessions = list(visible_sessions(request.user).select_related("team")[:60])
    live = [s for s in sessions if s.is_live]
    recent = [s for s in sessions if not s.is_live][:20]
    for s in live + recent:
        s.kind = session_kind(s)
    teams = Team.objects.filter(owner=request.user).prefetch_related("roles")
    return render(request, "sessions/home.html", {
        "live": live, "recent": recent, "teams": teams, "presets": list(PRESETS.values()),
        "llm_configured": settings.LLM_CONFIGURED})


def session_kind(session: Session) -> str:
    """What a session plays: its scenario's title, else its protocol's."""
    if session.scenario:
        try:
            return scenarios.get(session.scenario).title
        except scenarios.UnknownScenario:
            return session.scenario
    protocol = PROTOCOLS.items.get(session.protocol)
    return protocol.title if protocol else session.protocol


@login_required
@require_POST
def demo_start(request):
    """One click: the senior design panel on scripted agents, started at once."""
    preset = PRESETS["senior_design_panel"]
    session = launcher.start_preset(user=request.user, preset=preset, provider="scripted", title=f"Demo: {preset.title}")
    return redirect("session_detail", session.pk)


@login_required
@require_POST
def preset_start(request, key):
    """One click per preset, from its card on Home."""
    preset = PRESETS.get(key)
    if preset is None:
        raise Http404("No such preset")
    session = launcher.start_preset(user=request.user, preset=preset)
    return redirect("session_detail", session.pk)


@login_required
def session_new(request):
    initial, preset, team_error = launcher.initial_for(request.user, request.GET.get("preset", ""),
                                                       request.GET.get("team", ""))
    presets = list(PRESETS.values())
    form = SessionForm(request.POST or None, user=request.user, presets=presets, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # a team made from a preset goes if the session cannot be made
                session = services.session_create(
                    owner=request.user, team=launcher.team_for(request.user, data["team"]), title=data["title"],
                    brief=data["brief"], protocol=data["protocol"], protocol_params=data["protocol_params"],
                    topology=data["topology"], topology_params=data["topology_params"], provider=data["provider"],
                    max_turns=data["max_turns"], token_budget=data["token_budget"], seed=data["seed"],
                    human_seats=data["human_seats"], seat_timeout=data["seat_timeout"])
        except ValueError as exc:
            form.add_plugin_error(str(exc))
        else:
            if "start" in request.POST:
                services.session_start(session=session, user=request.user)
            return redirect("session_detail", session.pk)
    return render(request, "sessions/session_new.html", {
        "form": form, "team_error": team_error, "presets": presets, "preset": preset, **launcher.cards_for(form)})


def _session_for(request, pk) -> tuple[Session, str]:
    session = get_object_or_404(Session, pk=pk)
    capacity = permissions.capacity(session, request.user)
    token = request.GET.get("invite")
    if capacity is None and token:
        capacity = _accept_invite(request, session, token)
    if capacity is None:
        raise Http404("No such session")
    return session, capacity


def _accept_invite(request, session: Session, token: str) -> str | None:
    for capacity in (Membership.Capacity.PARTICIPANT, Membership.Capacity.OBSERVER):
        if token == invite_token(session, capacity):
            Membership.objects.get_or_create(session=session, user=request.user, defaults={"capacity": capacity})
            messages.info(request, f"You joined this session as {capacity}.")
            return capacity
    return None


def invite_token(session: Session, capacity: str) -> str:
    from django.core.signing import Signer

    return Signer(salt=f"invite:{capacity}").sign(str(session.share_token)).split(":")[-1]


def _view(request, session: Session, capacity: str) -> dict:
    """The viewer's view of the log and the context of the "view as role" switch."""
    view = visibility.view_for(session, request.user, capacity, request.GET.get("as") or None)
    return {"view": view, "view_as": view.role if not view.seated else "",
            "can_view_as": capacity in visibility.SEES_ALL and not view.seated}


@login_required
def session_detail(request, pk):
    session, capacity = _session_for(request, pk)
    shown = _view(request, session, capacity)
    rows = [serialize(e) for e in Event.objects.filter(session=session).order_by("-seq")[:LIVE_WINDOW]][::-1]
    target = request.GET.get("seq", "")
    if target.isdigit() and rows and int(target) < rows[0]["seq"]:  # older than the live window: the transcript has it
        return redirect(f"{reverse('session_transcript', args=[session.pk])}?seq={target}#ev-{target}")
    rows = shown["view"].visible(rows)
    roles = {r["name"]: r for r in session.team_snapshot.get("roles", [])}
    rendered = [fragments.render_event(e, roles) for e in rows]
    context = {**shown,
        "session": session, "capacity": capacity, "is_owner": capacity == Membership.Capacity.OWNER,
        "events_html": rendered, "truncated": rows and rows[0]["seq"] > 1, "last_seq": session.last_seq,
        "roles": list(roles.values()),
        "plan_html": fragments.plan_board((session.state or {}).get("plan", {})),
        "scenario_html": _scenario_panel(session),
        "outcome_html": fragments.run_outcome(selectors.final_state(session)),
        "stats": selectors.stats(session),
        "protocol": PROTOCOLS.items.get(session.protocol), "topology": TOPOLOGIES.items.get(session.topology),
        "timeline": [e for e in rows if e["kind"] == "intervention" or (e["payload"] or {}).get("intervention")][::-1],
        "controls": CONTROLS.get(session.status, []), "controls_map": CONTROLS,
        "rubric": selectors.score_form(session, request.user),
        "plan_steps": (session.state or {}).get("plan", {}).get("steps", []), "plan_statuses": plan_mod.STATUSES,
        "plan_version": (session.state or {}).get("plan", {}).get("version", 0),
        "invite_participant": invite_token(session, "participant"), "invite_observer": invite_token(session, "observer"),
    }
    context.update(selectors.seat_view(session, selectors.seats(session.pk), request.user, capacity))
    return render(request, "sessions/detail.html", context)


def _scenario_panel(session: Session) -> str:
    if not session.scenario:
        return ""
    outcome = selectors.run_outcome(session)
    rounds = list(Event.objects.filter(session=session, kind="scenario_state").order_by("seq")
                  .values_list("payload", flat=True))
    return fragments.scenario_panel(rounds[-1] if rounds else {"title": session.scenario}, rounds,
                                    provisional=outcome["ended"] and outcome["provisional"])


@login_required
def session_transcript(request, pk):
    """The whole log, paginated, under filters; `?seq=N` opens the page
    holding event N (scrolled to and highlighted through its #ev-N anchor)."""
    session, capacity = _session_for(request, pk)
    shown = _view(request, session, capacity)
    roles = {r["name"]: r for r in session.team_snapshot.get("roles", [])}
    rows, applied = _visible_rows(shown["view"], *selectors.transcript_events(session, request.user, request.GET))
    target = request.GET.get("seq", "")
    page_number = request.GET.get("page")
    dropped = {}
    if target.isdigit():
        if not rows.filter(seq=int(target)).exists():  # hidden by the filters: the link still opens it
            dropped = applied
            rows, applied = _visible_rows(shown["view"], *selectors.transcript_events(session, request.user, {}))
        page_number = rows.filter(seq__lt=int(target)).count() // TRANSCRIPT_PAGE + 1
    page = Paginator(rows, TRANSCRIPT_PAGE).get_page(page_number)
    with_calls = selectors.turns_with_calls(session.pk, page) if capacity in SEES_CALLS else set()
    rendered = [(e.seq, (e.turn_index, e.actor) in with_calls, fragments.render_event(serialize(e), roles))
                for e in page]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("seq", None)
    filtered_query = query.urlencode()  # the view the user asked for, before filters were dropped
    for name in dropped:  # the pager pages through what is shown
        query.pop(name, None)
    return render(request, "sessions/transcript.html", {
        **shown, "outcome_html": fragments.run_outcome(selectors.final_state(session)),
        "session": session, "page": page, "events": rendered, "scenario_html": _scenario_panel(session),
        "applied": applied, "choices": selectors.transcript_choices(session), "query": query.urlencode(),
        "dropped": bool(dropped) and any(seq == int(target) for seq, _, _ in rendered), "filtered_query": filtered_query,
        "extra_filters": [(f, f.choices(session, request.user), str(applied.get(f.name, "")))
                          for f in selectors.TRANSCRIPT_FILTERS.values()],
        "target": int(target) if target.isdigit() else None, "is_owner": capacity == Membership.Capacity.OWNER,
    })


# Who may open the prompt and model calls behind a message (the research app's "model_calls" permission).
SEES_CALLS = {Membership.Capacity.OWNER, Membership.Capacity.OBSERVER, Membership.Capacity.ANNOTATOR}


def _visible_rows(view, rows, applied):
    """A seated player's transcript holds only what their role's agent would see."""
    if not view.everything:
        rows = rows.filter(seq__in=[e["seq"] for e in view.visible([serialize(e) for e in rows])])
    return rows, applied


def _level(value: str) -> int | str:
    return int(value) if value.isdigit() else value


@login_required
@require_POST
def session_action(request, pk, action):
    """Plain-HTTP doors for the controls, so they work without the socket."""
    session, _ = _session_for(request, pk)
    handlers = {"start": services.session_start, "pause": services.session_pause, "resume": services.session_resume,
                "step": services.session_step, "stop": services.session_stop}
    try:
        if action in handlers:
            handlers[action](session=session, user=request.user)
        elif action == "inject":
            to_role = request.POST.get("to_role") or None
            services.session_inject(session=session, user=request.user, text=request.POST.get("text", ""),
                                    to_role=to_role)
            messages.success(request, f"Whispered to {to_role}." if to_role else "Sent to everyone.")
        elif action == "edit_plan":
            services.session_edit_plan(session=session, user=request.user, steps=plan_form_steps(
                request.POST.getlist("text"), request.POST.getlist("owner"), request.POST.getlist("status")),
                base_version=request.POST.get("base_version"))
        elif action == "score":
            scores = {k.removeprefix("score:"): _level(v) for k, v in request.POST.items() if k.startswith("score:")}
            comments = {k.removeprefix("comment:"): v for k, v in request.POST.items() if k.startswith("comment:")}
            services.session_score(session=session, user=request.user, scores=scores, comments=comments)
            messages.success(request, "Scores saved.")
        elif action == "test_connection":
            report = services.session_test_connection(session=session, user=request.user)
            for ok, line in report:
                (messages.success if ok else messages.error)(request, line)
            if not report:
                messages.info(request, "This session's roles use offline scripted agents: nothing to connect to.")
        elif action == "take_seat":
            seat = services.seat_take(session=session, user=request.user, role=request.POST.get("role", ""))
            messages.success(request, f"You now play {seat.role_name}.")
        elif action == "release_seat":
            services.seat_release(session=session, user=request.user, role=request.POST.get("role", ""))
        elif action == "say":
            services.seat_message(session=session, user=request.user, role=request.POST.get("role", ""),
                                  text=request.POST.get("text", ""))
        else:
            raise Http404("Unknown action")
    except Refused as exc:
        messages.error(request, str(exc))
    return redirect("session_detail", session.pk)
