from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import render

from collab.sessions.models import Session
from collab.teams.models import Team


def visible_sessions(user):
    return Session.objects.filter(Q(owner=user) | Q(memberships__user=user)).distinct()


@login_required
def home(request):
    sessions = visible_sessions(request.user).select_related("team")
    live = [s for s in sessions[:50] if s.is_live]
    recent = [s for s in sessions[:20] if not s.is_live]
    teams = Team.objects.filter(owner=request.user)
    return render(request, "sessions/home.html", {"live": live, "recent": recent, "teams": teams})


@login_required
def session_new(request):
    teams = Team.objects.filter(owner=request.user)
    return render(request, "sessions/session_new.html", {"teams": teams})
