from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
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
from collab.sessions import permissions, selectors, services
from collab.sessions.events import serialize
from collab.sessions.forms import SessionForm
from collab.sessions.models import Event, Membership, Session
from collab.sessions.permissions import Refused
from collab.teams.models import Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset

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
    teams = Team.objects.filter(owner=request.user).prefetch_related("roles")
    return render(request, "sessions/home.html", {"live": live, "recent": recent, "teams": teams})


@login_required
@require_POST
def demo_start(request):
    """One click: a preset team on scripted agents, started at once."""
    preset = PRESETS["senior_design_panel"]
    team = Team.objects.filter(owner=request.user, preset=preset.key).first() or team_create_from_preset(
        preset_key=preset.key, owner=request.user)
    session = services.session_create(
        owner=request.user, team=team, brief=preset.brief, protocol=preset.protocol,
        protocol_params=preset.protocol_params, topology=preset.topology, provider="scripted",
        max_turns=preset.max_turns, title=f"Demo: {preset.title}")
    services.session_start(session=session, user=request.user)
    return redirect("session_detail", session.pk)


@login_required
def session_new(request):
    initial = {}
    if request.GET.get("team"):
        initial["team"] = request.GET["team"]
        team = Team.objects.filter(owner=request.user, pk=request.GET["team"]).first()
        preset = PRESETS.get(team.preset) if team else None
        if preset:
            initial.update(protocol=preset.protocol, protocol_params=preset.protocol_params, topology=preset.topology,
                           topology_params=preset.topology_params, brief=preset.brief, max_turns=preset.max_turns)
            if preset.protocol == "scenario":
                strategies = preset.protocol_params.get("strategies", "")
                initial.update(scenario=preset.scenario, scenario_params=preset.scenario_params, protocol="round_robin",
                               protocol_params={}, strategy=strategies if isinstance(strategies, str) else "")
    form = SessionForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.session_create(
                owner=request.user, team=data["team"], title=data["title"], brief=data["brief"],
                protocol=data["protocol"], protocol_params=data["protocol_params"], topology=data["topology"],
                topology_params=data["topology_params"], provider=data["provider"], max_turns=data["max_turns"],
                token_budget=data["token_budget"], seed=data["seed"], human_seats=data["human_seats"],
                seat_timeout=data["seat_timeout"])
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            if "start" in request.POST:
                services.session_start(session=session, user=request.user)
            return redirect("session_detail", session.pk)
    teams = Team.objects.filter(owner=request.user).prefetch_related("roles__model_profile")
    return render(request, "sessions/session_new.html", {
        "form": form, "teams": teams, "protocols": [p for p in PROTOCOLS.all() if p.key != "scenario"],
        "topologies": TOPOLOGIES.all(), "scenarios": scenarios.all_scenarios()})


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


@login_required
def session_detail(request, pk):
    session, capacity = _session_for(request, pk)
    rows = list(Event.objects.filter(session=session).order_by("-seq")[:LIVE_WINDOW])[::-1]
    target = request.GET.get("seq", "")
    if target.isdigit() and rows and int(target) < rows[0].seq:  # older than the live window: the transcript has it
        return redirect(f"{reverse('session_transcript', args=[session.pk])}?seq={target}#ev-{target}")
    roles = {r["name"]: r for r in session.team_snapshot.get("roles", [])}
    rendered = [fragments.render_event(serialize(e), roles) for e in rows]
    context = {
        "session": session, "capacity": capacity, "is_owner": capacity == Membership.Capacity.OWNER,
        "events_html": rendered, "truncated": rows and rows[0].seq > 1, "last_seq": session.last_seq,
        "roles": list(roles.values()),
        "plan_html": fragments.plan_board((session.state or {}).get("plan", {})),
        "scenario_html": _scenario_panel(session),
        "stats": selectors.stats(session),
        "protocol": PROTOCOLS.items.get(session.protocol), "topology": TOPOLOGIES.items.get(session.topology),
        "timeline": [e for e in rows if e.kind == "intervention" or (e.payload or {}).get("intervention")][::-1],
        "controls": CONTROLS.get(session.status, []), "controls_map": CONTROLS,
        "rubric": ((session.state or {}).get("protocol", {}).get("params", {}).get("rubric", [])
                   if session.scenario == "design_review" and (session.state or {}).get("protocol", {}).get("proposal")
                   else []),
        "plan_steps": (session.state or {}).get("plan", {}).get("steps", []), "plan_statuses": plan_mod.STATUSES,
        "invite_participant": invite_token(session, "participant"), "invite_observer": invite_token(session, "observer"),
    }
    context.update(selectors.seat_view(session, selectors.seats(session.pk), request.user, capacity))
    return render(request, "sessions/detail.html", context)


def _scenario_panel(session: Session) -> str:
    if not session.scenario:
        return ""
    latest = Event.objects.filter(session=session, kind="scenario_state").order_by("-seq").first()
    return fragments.scenario_panel(latest.payload if latest else {"title": session.scenario})


@login_required
def session_transcript(request, pk):
    """The whole log, paginated, under filters; `?seq=N` opens the page
    holding event N (scrolled to and highlighted through its #ev-N anchor)."""
    session, capacity = _session_for(request, pk)
    roles = {r["name"]: r for r in session.team_snapshot.get("roles", [])}
    rows, applied = selectors.transcript_events(session, request.user, request.GET)
    target = request.GET.get("seq", "")
    page_number = request.GET.get("page")
    if target.isdigit():
        if not rows.filter(seq=int(target)).exists():  # hidden by the filters: the link still opens it
            rows, applied = selectors.transcript_events(session, request.user, {})
        page_number = rows.filter(seq__lt=int(target)).count() // TRANSCRIPT_PAGE + 1
    page = Paginator(rows, TRANSCRIPT_PAGE).get_page(page_number)
    rendered = [(e.seq, e.kind == "message" and e.actor in roles, fragments.render_event(serialize(e), roles))
                for e in page]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("seq", None)
    return render(request, "sessions/transcript.html", {
        "session": session, "page": page, "events": rendered, "scenario_html": _scenario_panel(session),
        "applied": applied, "choices": selectors.transcript_choices(session), "query": query.urlencode(),
        "extra_filters": [(f, f.choices(session, request.user), str(applied.get(f.name, "")))
                          for f in selectors.TRANSCRIPT_FILTERS.values()],
        "target": int(target) if target.isdigit() else None, "is_owner": capacity == Membership.Capacity.OWNER,
        "sees_calls": capacity in {Membership.Capacity.OWNER, Membership.Capacity.OBSERVER,
                                   Membership.Capacity.ANNOTATOR},
    })


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
            services.session_inject(session=session, user=request.user, text=request.POST.get("text", ""),
                                    to_role=request.POST.get("to_role") or None)
        elif action == "edit_plan":
            services.session_edit_plan(session=session, user=request.user, steps=plan_form_steps(
                request.POST.getlist("text"), request.POST.getlist("owner"), request.POST.getlist("status")))
        elif action == "score":
            scores = {k.removeprefix("score:"): _level(v) for k, v in request.POST.items() if k.startswith("score:")}
            services.session_score(session=session, user=request.user, scores=scores)
            messages.success(request, "Scores saved.")
        elif action == "take_seat":
            services.seat_take(session=session, user=request.user, role=request.POST.get("role", ""))
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
