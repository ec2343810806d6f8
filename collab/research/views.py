"""Thin doors over the workbench's services and selectors. Every view
checks access through permissions.require."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from collab.research import permissions, selectors, services
from collab.research.exchange import ImportRefused
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
