"""Thin doors over the workbench's services and selectors. Every view
checks access through permissions.require."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from collab.live import fragments
from collab.research import codebooks, permissions, selectors, services
from collab.research.exchange import ImportRefused
from collab.research.models import Codebook
from collab.sessions import selectors as session_selectors
from collab.sessions.events import serialize
from collab.sessions.models import Session


def _session(request, pk, need: str = "view") -> Session:
    session = get_object_or_404(Session, pk=pk)
    permissions.require(request.user, need, session)
    return session


@login_required
def research_home(request):
    codebooks.ensure_shipped()
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


# -- codebooks -----------------------------------------------------------------

def _codebook(request, pk, need: str = "view") -> Codebook:
    codebook = get_object_or_404(Codebook, pk=pk)
    permissions.require(request.user, need, codebook)
    return codebook


def _posted_labels(post) -> list[dict]:
    rows = sorted({int(k.split("-")[1]) for k in post if k.startswith("label-") and k.split("-")[1].isdigit()})
    labels = []
    for i in rows:
        label_id = post.get(f"label-{i}-id", "")
        labels.append({"id": int(label_id) if label_id.isdigit() else None, "name": post.get(f"label-{i}-name", ""),
                       "color": post.get(f"label-{i}-color", ""), "definition": post.get(f"label-{i}-definition", ""),
                       "example": post.get(f"label-{i}-example", ""), "retired": bool(post.get(f"label-{i}-retired"))})
    return labels


@login_required
def codebook_detail(request, pk):
    codebook = _codebook(request, pk)
    return render(request, "research/codebook_detail.html", {
        "codebook": codebook, "labels": codebook.labels.all(),
        "can_edit": permissions.allowed(request.user, "edit", codebook)})


@login_required
def codebook_edit(request, pk=None):
    codebook = _codebook(request, pk, "edit") if pk else None
    error = None
    if request.method == "POST":
        try:
            codebook = codebooks.codebook_save(
                owner=request.user, codebook=codebook, name=request.POST.get("name", ""),
                description=request.POST.get("description", ""), multi_label=bool(request.POST.get("multi_label")),
                labels=_posted_labels(request.POST))
        except codebooks.CodebookError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Saved as version {codebook.version}.")
            return redirect("codebook_detail", codebook.pk)
    labels = list(codebook.labels.all()) if codebook else []
    return render(request, "research/codebook_form.html", {
        "codebook": codebook, "labels": labels, "blank_rows": range(len(labels), len(labels) + 3), "error": error,
        "posted": request.POST if error else None}, status=400 if error else 200)


@login_required
@require_POST
def codebook_copy(request, pk):
    copy = codebooks.codebook_copy(owner=request.user, codebook=_codebook(request, pk))
    messages.success(request, "Copied: this copy is yours to edit.")
    return redirect("codebook_detail", copy.pk)


@login_required
def codebook_export(request, pk):
    codebook = _codebook(request, pk)
    response = JsonResponse(codebooks.codebook_json(codebook), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="codebook-{codebook.pk}-v{codebook.version}.json"'
    return response


@login_required
@require_POST
def codebook_import(request):
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise codebooks.CodebookError("choose a codebook .json file")
        codebook = codebooks.codebook_import(owner=request.user, data=upload.read(1_000_001))
    except codebooks.CodebookError as exc:
        messages.error(request, f"Codebook not imported: {exc}.")
        return redirect("research_home")
    messages.success(request, f"Imported codebook {codebook.name}.")
    return redirect("codebook_detail", codebook.pk)
