"""Thin doors over the workbench's services and selectors. Every view
checks access through permissions.require."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from collab.live import fragments
from collab.research import permissions, selectors, services
from collab.research.exchange import ImportRefused
from collab.sessions import selectors as session_selectors
from collab.sessions.events import serialize
from collab.sessions.models import Session


def _session(request, pk, need: str = "view") -> Session:
    session = get_object_or_404(Session, pk=pk)
    permissions.require(request.user, need, session)
    return session


@login_required
def research_home(request):
    return render(request, "research/home.html", {
        "projects": selectors.projects_for(request.user), "codebooks": selectors.codebooks_for(request.user)})


@login_required
def session_export(request, pk):
    session = _session(request, pk, "export")
    fmt = request.GET.get("format", "jsonl")
    if fmt not in {"jsonl", "csv"}:
        fmt = "jsonl"
    annotations = request.GET.get("annotations") == "1"
    projects = session.annotation_projects.filter(owner=request.user)
    response = StreamingHttpResponse(
        selectors.export_chunks(session, format=fmt, annotations=annotations, projects=projects),
        content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="collab-session-{session.pk}.{fmt}"'
    return response


@login_required
@require_POST
def transcript_import(request):
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a .jsonl file to import.")
        return redirect("research_home")
    try:
        session = services.transcript_import(owner=request.user, stream=upload)
    except ImportRefused as exc:
        messages.error(request, f"Not imported: {exc}. Nothing was saved.")
        return redirect("research_home")
    messages.success(request, f"Imported {session.last_seq} events as a finished, read-only session.")
    return redirect("session_transcript", session.pk)


REPLAY_WINDOW = 200


def _roles(session: Session) -> dict[str, dict]:
    return {r["name"]: r for r in (session.team_snapshot or {}).get("roles", [])}


def _render(session: Session, rows) -> str:
    roles = _roles(session)
    # Each fragment is a rendered (escaped) template; joining loses the safe mark.
    return mark_safe("".join(fragments.render_event(serialize(e), roles) for e in rows))


def _int(value, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


@login_required
def session_replay(request, pk):
    """The log replayed with the live page's rendering. The page holds a
    window of rendered events up to `?at=SEQ` and fetches more as it plays."""
    session = _session(request, pk)
    last = session.last_seq
    at = _int(request.GET.get("at", request.GET.get("seq")), 0, 0, last)
    window = session_selectors.events_between(session.pk, max(1, at - REPLAY_WINDOW + 1), at) if at else []
    markers = session_selectors.timeline_markers(session.pk)
    markers += [{"seq": seq, "type": "annotation", "title": "annotated"}
                for seq in selectors.annotated_seqs(session, request.user)]
    return render(request, "research/replay.html", {
        "session": session, "at": at, "last": last, "events_html": _render(session, window),
        "window_from": window[0].seq if window else at + 1,
        "markers": [{**m, "left": round((m["seq"] - 1) * 100 / max(last - 1, 1), 3)}
                    for m in sorted(markers, key=lambda m: m["seq"])],
        "can_export": permissions.allowed(request.user, "export", session),
    })


@login_required
def replay_events(request, pk):
    """A chunk of rendered events for the replay: `after=SEQ` for the next
    ones, or `upto=SEQ` for the window ending there."""
    session = _session(request, pk)
    limit = _int(request.GET.get("limit"), REPLAY_WINDOW, 1, 500)
    if "upto" in request.GET:
        upto = _int(request.GET.get("upto"), 0, 0, session.last_seq)
        rows = session_selectors.events_between(session.pk, max(1, upto - limit + 1), upto) if upto else []
    else:
        after = _int(request.GET.get("after"), 0, 0, 10**9)
        rows = session_selectors.events_between(session.pk, after + 1, after + limit)
    response = HttpResponse(_render(session, rows))
    response["X-Last-Seq"] = str(session.last_seq)
    return response


@login_required
def event_calls(request, pk, seq):
    """What the model was sent and returned for one agent message:
    messages, parameters, usage, latency; for members who see everything."""
    session = _session(request, pk, "model_calls")
    event = session_selectors.event_at(session.pk, seq)
    if event is None:
        raise Http404("No such event")
    calls = session_selectors.llm_calls_for(session.pk, event.turn_index, event.actor)
    return render(request, "research/event_calls.html", {
        "session": session, "event": event, "event_html": _render(session, [event]), "calls": calls})
