from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from collab.teams.models import Team
from collab.teams.presets import PRESETS


@login_required
def team_list(request):
    teams = Team.objects.filter(owner=request.user).prefetch_related("roles")
    return render(request, "teams/team_list.html", {"teams": teams, "presets": PRESETS.values()})
