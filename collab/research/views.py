"""Thin doors over the workbench's services and selectors. Every view
checks access through permissions.require."""

import itertools
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from collab.live import fragments
from collab.research import agreement, annotation, codebooks, coder, permissions, selectors, services
from collab.research.exchange import ImportRefused
from collab.research.models import Codebook, Coder, CoderRun, Project
from collab.sessions import selectors as session_selectors
from collab.sessions.events import serialize
from collab.sessions.models import Session
from collab.teams.models import ModelProfile


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
        sessions = services.transcript_import(owner=request.user, stream=upload)
    except ImportRefused as exc:
        messages.error(request, f"Not imported: {exc}. Nothing was saved.")
        return redirect("research_home")
    if len(sessions) == 1:
        messages.success(request, f"Imported {sessions[0].last_seq} events as a finished, read-only session.")
        return redirect("session_transcript", sessions[0].pk)
    messages.success(request, f"Imported {len(sessions)} sessions ({sum(s.last_seq for s in sessions)} events) "
                              "as finished, read-only sessions: " + ", ".join(f"#{s.pk} {s.title}" for s in sessions))
    return redirect("research_home")


REPLAY_WINDOW = 60  # events rendered into the page around the position: a screenful and then some
REPLAY_CHUNK = 100  # events per fetch while playing


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
    return render(request, "research/replay.html", {
        "session": session, "at": at, "last": last, "events_html": _render(session, window),
        "window_from": window[0].seq if window else at + 1,
        "markers": selectors.replay_markers(session, request.user),
        "can_export": permissions.allowed(request.user, "export", session),
    })


@login_required
def replay_events(request, pk):
    """A chunk of rendered events for the replay: `after=SEQ` for the next
    ones, or `upto=SEQ` for the window ending there."""
    session = _session(request, pk)
    limit = _int(request.GET.get("limit"), REPLAY_CHUNK, 1, 500)
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


NEW_LABEL_ROWS = 3  # empty rows under a codebook's labels; the form's "Add label" button adds more
# Distinct defaults for new labels' colours, one per number key.
NEW_LABEL_COLORS = ["#4f46e5", "#16a34a", "#dc2626", "#d97706", "#0891b2", "#c026d3", "#65a30d", "#475569", "#db2777"]


@login_required
def codebook_detail(request, pk):
    codebook = _codebook(request, pk)
    labels, keys = list(codebook.labels.all()), itertools.count(1)
    for label in labels:  # the coding palette's number keys: they number the labels in use only
        label.key = None if label.retired else next(keys)
    return render(request, "research/codebook_detail.html", {
        "codebook": codebook, "labels": labels,
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
    if error:  # what the user typed comes back, rows they left empty included
        rows = [{**label, "new": label["id"] is None} for label in _posted_labels(request.POST)]
        blank = 0 if any(row["new"] and not row["name"] for row in rows) else 1
    else:
        rows = [{"id": label.pk, "name": label.name, "color": label.color, "definition": label.definition,
                 "example": label.example, "retired": label.retired, "new": False}
                for label in (codebook.labels.all() if codebook else [])]
        blank = NEW_LABEL_ROWS
    rows += [{"id": None, "name": "", "color": "", "definition": "", "example": "", "retired": False, "new": True}
             for _ in range(blank)]
    for i, row in enumerate(rows):
        row["color"] = row["color"] or NEW_LABEL_COLORS[i % len(NEW_LABEL_COLORS)]
    return render(request, "research/codebook_form.html", {
        "codebook": codebook, "rows": rows, "colors": NEW_LABEL_COLORS, "error": error,
        "multi_label": bool(request.POST.get("multi_label")) if error else bool(codebook and codebook.multi_label),
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


# -- annotation projects ---------------------------------------------------------

def _project(request, pk, need: str = "view") -> Project:
    project = get_object_or_404(Project.objects.select_related("codebook", "owner"), pk=pk)
    permissions.require(request.user, need, project)
    return project


def _owner_only(request, project: Project) -> None:
    if project.owner_id != request.user.pk:
        raise Http404("Not found")


@login_required
def project_new(request):
    codebooks.ensure_shipped()
    sessions = selectors.sessions_to_pick(request.user, request.GET)
    error = None
    if request.method == "POST":
        picked = list(Session.objects.filter(pk__in=[p for p in request.POST.getlist("sessions") if p.isdigit()]))
        book = Codebook.objects.filter(pk=request.POST.get("codebook") or 0).first()
        try:
            if book is None:
                raise annotation.AnnotationError("pick a codebook")
            project = annotation.project_create(owner=request.user, name=request.POST.get("name", ""), codebook=book,
                                                sessions=picked, instructions=request.POST.get("instructions", ""))
        except annotation.AnnotationError as exc:
            error = str(exc)
        else:
            messages.success(request, "Project created. Invite coders by link or username.")
            return redirect("project_detail", project.pk)
    return render(request, "research/project_new.html", {
        "sessions": sessions, "codebooks": selectors.codebooks_for(request.user), "error": error,
        "filters": request.GET, "posted": request.POST if error else None,
        "picked": request.POST.getlist("sessions") if error else []}, status=400 if error else 200)


@login_required
def project_detail(request, pk):
    project = _project(request, pk)
    coders = selectors.coders(project)
    is_owner = project.owner_id == request.user.pk
    me = permissions.coder_for(project, request.user)
    progress = selectors.progress(project, coders if is_owner else [me])
    sessions = list(project.sessions.order_by("pk"))
    removal = selectors.removal_counts(project)
    return render(request, "research/project_detail.html", {
        "project": project, "is_owner": is_owner, "me": me, "coders": coders, "progress": progress,
        "sessions": sessions, "my_counts": removal["coders"].get(me.pk) if me else None,
        "next_unit": selectors.next_to_code(project, me) if me else None,
        "my_done": progress[me.pk]["done"] if me else 0,
        "coder_rows": [{"coder": c, "progress": progress[c.pk], "removes": removal["coders"][c.pk]} for c in coders]
        if is_owner else [],
        "session_rows": [{"session": s, "removes": removal["sessions"][s.pk]} for s in sessions],
        "invite_url": request.build_absolute_uri(reverse("project_join", args=[project.invite_token])),
        "runs": selectors.coder_runs(project) if is_owner else [],
        "profiles": ModelProfile.objects.usable_by(request.user).filter(provider=ModelProfile.Provider.OPENAI)
        if is_owner else [],
    })


@login_required
def project_join(request, token):
    project = get_object_or_404(Project, invite_token=token)
    if request.method == "POST":
        try:
            annotation.coder_add(project=project, by=request.user, user=request.user)
        except annotation.AnnotationError as exc:
            messages.error(request, str(exc))
            return redirect("research_home")
        messages.success(request, f"You code for {project.name}.")
        return redirect("project_detail", project.pk)
    return render(request, "research/project_join.html", {"project": project})


@login_required
@require_POST
def project_coder_add(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    try:
        added = annotation.coder_add_by_name(project=project, by=request.user, username=request.POST.get("username", ""))
    except annotation.AnnotationError as exc:
        messages.error(request, f"Not added: {exc}.")
    else:
        messages.success(request, f"{added.name} codes for this project now.")
    return redirect("project_detail", project.pk)


def _deleted(counts: dict) -> str:
    """'3 annotations, 5 reviewed marks (1 with a note)' for a flash message."""
    parts = [f"{counts['annotations']} annotation{'s' * (counts['annotations'] != 1)}",
             f"{counts['reviewed']} reviewed mark{'s' * (counts['reviewed'] != 1)}"
             + (f" ({counts['notes']} with a note)" if counts["notes"] else "")]
    if counts.get("adjudications"):
        parts.append(f"{counts['adjudications']} gold decision{'s' * (counts['adjudications'] != 1)}")
    return ", ".join(parts)


@login_required
@require_POST
def project_coder_remove(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    try:
        removed = annotation.coder_remove(project=project, by=request.user, coder_id=request.POST.get("coder"))
    except annotation.AnnotationError as exc:
        messages.error(request, f"Not removed: {exc}.")
    else:
        revoked = f"; their access to {removed['revoked']} session(s) was withdrawn" if removed["revoked"] else ""
        messages.success(request, f"Removed {removed['name']}: deleted {_deleted(removed)}{revoked}.")
    return redirect(f"{reverse('project_detail', args=[project.pk])}#coders")


@login_required
@require_POST
def project_leave(request, pk):
    """A coder leaves the project: as if the owner removed them."""
    project = _project(request, pk)
    me = permissions.coder_for(project, request.user)
    try:
        if me is None:
            raise annotation.AnnotationError("you own this project; only its coders leave it")
        left = annotation.coder_remove(project=project, by=request.user, coder_id=me.pk)
    except annotation.AnnotationError as exc:
        messages.error(request, f"Not left: {exc}.")
        return redirect("project_detail", project.pk)
    messages.success(request, f"You left {project.name}; deleted your {_deleted(left)}.")
    return redirect("research_home")


@login_required
def project_sessions_add(request, pk):
    """Pick more of the owner's sessions for the project, with the filters of
    the new-project page."""
    project = _project(request, pk)
    _owner_only(request, project)
    error = None
    if request.method == "POST":
        try:
            added = annotation.project_sessions_add(project=project, by=request.user,
                                                    session_ids=request.POST.getlist("sessions"))
        except annotation.AnnotationError as exc:
            error = str(exc)
        else:
            coders = project.coders.filter(kind=Coder.Kind.HUMAN).count()
            messages.success(request, f"Added {len(added)} session{'s' * (len(added) != 1)}"
                             + (f"; its {coders} coder(s) can code them now." if coders else "."))
            return redirect(f"{reverse('project_detail', args=[project.pk])}#project-sessions")
    return render(request, "research/project_sessions_add.html", {
        "project": project, "sessions": selectors.sessions_to_pick(request.user, request.GET, exclude=project),
        "filters": request.GET, "error": error, "picked": request.POST.getlist("sessions") if error else []},
        status=400 if error else 200)


@login_required
@require_POST
def project_session_remove(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    try:
        removed = annotation.project_session_remove(project=project, by=request.user,
                                                    session_id=request.POST.get("session"))
    except annotation.AnnotationError as exc:
        messages.error(request, f"Not removed: {exc}.")
    else:
        revoked = f"; {removed['revoked']} coder(s) lost access to it" if removed["revoked"] else ""
        messages.success(request, f"Took session #{removed['session'].pk} out of the project: "
                         f"deleted {_deleted(removed)}{revoked}. The session itself is unchanged.")
    return redirect(f"{reverse('project_detail', args=[project.pk])}#project-sessions")


@login_required
@require_POST
def project_reveal(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    annotation.project_reveal(project=project, by=request.user, revealed=request.POST.get("revealed") == "1")
    messages.success(request, "Labels revealed to every coder." if project.revealed else "Labels hidden again.")
    return redirect("project_detail", project.pk)


@login_required
def project_code(request, pk, session_pk):
    """The keyboard-first coding page for one session of the project."""
    project = _project(request, pk, "annotate")
    session = get_object_or_404(project.sessions, pk=session_pk)
    me = permissions.coder_for(project, request.user)
    page, seq = request.GET.get("page", ""), request.GET.get("seq", "")
    view = selectors.coding_view(project, me, session, request.user, page=int(page) if page.isdigit() else None,
                                 seq=int(seq) if seq.isdigit() else None)
    sessions = list(project.sessions.order_by("pk").values_list("pk", flat=True))
    index = sessions.index(session.pk)
    return render(request, "research/code.html", {
        "project": project, "session": session, "me": me, "labels": project.codebook.labels.filter(retired=False),
        "all_labels": {label.pk: label for label in project.codebook.labels.all()}, **view,
        "roles": _roles(session), "next_session": sessions[index + 1] if index + 1 < len(sessions) else None,
        "prev_session": sessions[index - 1] if index else None,
        "next_page": view["page"] + 1 if view["page"] < view["pages"] else None,
        "prev_page": view["page"] - 1 if view["page"] > 1 else None,
        "state": {"mine": view["mine"], "reviewed": sorted(view["reviewed"]),
                  "labels": {label.pk: {"name": selectors.label_name(label), "color": label.color}
                             for label in project.codebook.labels.all()},
                  "suggestions": view["suggestions"],
                  "notes": {seq: r.note for seq, r in view["reviewed"].items() if r.note},
                  "verdicts": view["verdicts"]},
    })


@login_required
@require_POST
def project_annotate(request, pk):
    """The coding page's one door: label, unlabel, review, note, undo,
    accept or reject a suggestion. JSON in, JSON out."""
    # The hot path (a keypress, when the page's socket is down): the caller's coder seat and its project in one query.
    seat = annotation.coding_seat(pk, request.user)
    if seat is not None:
        project = seat.project
    else:
        project = _project(request, pk, "annotate")  # the owner (told only coders annotate) or a 404
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return JsonResponse({"error": "send a JSON object"}, status=400)
    try:
        result = annotation.apply(project=project, user=request.user, action=body)
    except annotation.AnnotationError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(result)


@login_required
def project_adjudicate(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    if request.method == "POST":
        picked = request.POST.getlist("label")
        label_ids = [x for x in picked if x.isdigit()]
        try:
            # "none applies" is a choice of its own, so an empty form never overwrites a decision by accident.
            if "none" in picked and label_ids:
                raise annotation.AnnotationError("“none applies” cannot go with a label")
            if "none" not in picked and not label_ids:
                raise annotation.AnnotationError("choose a label, or “none applies”")
            annotation.adjudicate(project=project, by=request.user, session_id=int(request.POST.get("session", 0)),
                                  seq=int(request.POST.get("seq", 0)), label_ids=label_ids)
        except (annotation.AnnotationError, ValueError) as exc:
            messages.error(request, f"Not recorded: {exc}.")
        else:
            messages.success(request, f"Gold label recorded for #{request.POST.get('seq')}.")
        return redirect(f"{reverse('project_adjudicate', args=[project.pk])}#d-{request.POST.get('session')}-{request.POST.get('seq')}")
    labels = list(project.codebook.labels.all())
    rows = selectors.disagreements(project)
    for row in rows:  # a retired label stays on offer where it is the recorded gold, so saving keeps it
        row["choices"] = [label for label in labels if not label.retired or label.pk in (row["gold"] or [])]
    return render(request, "research/adjudicate.html", {"project": project, "rows": rows})


@login_required
def project_agreement(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    return render(request, "research/agreement.html", {"project": project, **agreement.project_agreement(project)})


@login_required
def project_export(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    fmt = "csv" if request.GET.get("format") == "csv" else "jsonl"

    chunks = selectors.export_sessions(project.sessions.order_by("pk"), format=fmt, annotations=True,
                                       projects=[project])
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8" if fmt == "csv"
                                     else "application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="collab-project-{project.pk}.{fmt}"'
    return response


# -- model coder -------------------------------------------------------------------

def _run(request, pk, run_pk) -> CoderRun:
    project = _project(request, pk)
    _owner_only(request, project)
    return get_object_or_404(CoderRun.objects.select_related("coder__project"), pk=run_pk, coder__project=project)


@login_required
@require_POST
def coder_run_start(request, pk):
    project = _project(request, pk)
    _owner_only(request, project)
    profile_id = request.POST.get("profile", "")
    profile = ModelProfile.objects.usable_by(request.user).filter(pk=profile_id).first() if profile_id.isdigit() else None
    try:
        if profile_id and profile is None:
            raise annotation.AnnotationError("choose one of your model profiles or a shared one")
        coder.run_start(project=project, by=request.user, profile=profile)
    except annotation.AnnotationError as exc:
        messages.error(request, f"Not started: {exc}.")
    else:
        messages.success(request, "The model coder started; its labels appear as suggestions to your coders.")
    return redirect(f"{reverse('project_detail', args=[project.pk])}#model-coder")


@login_required
def coder_run_status(request, pk, run_pk):
    return render(request, "research/_run.html", {"run": _run(request, pk, run_pk), "project_pk": pk})


@login_required
@require_POST
def coder_run_cancel(request, pk, run_pk):
    run = coder.run_cancel(run=_run(request, pk, run_pk), by=request.user)
    if request.htmx:
        return render(request, "research/_run.html", {"run": run, "project_pk": pk})
    messages.success(request, "Cancelled.")
    return redirect(f"{reverse('project_detail', args=[pk])}#model-coder")


@login_required
def coder_run_calls(request, pk, run_pk):
    run = _run(request, pk, run_pk)
    return render(request, "research/coder_calls.html", {"run": run, "calls": run.calls.all()[:500]})
