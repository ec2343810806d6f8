import logging

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from collab.core import health

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request):
    healthy, checks = health.report()
    response = JsonResponse(checks, status=200 if healthy else 503)
    if not healthy:
        # A 503 here is the probe's answer, not a server error: logged here instead of by django.request
        # at ERROR. No worker yet is what every start-up (and worker restart) looks like while the
        # launcher waits for readiness: not worth a line per poll.
        response._has_been_logged = True
        only_workers = checks["database"]["ok"] and checks["redis"]["ok"]
        logger.log(logging.DEBUG if only_workers else logging.WARNING, "healthz: %s", health.summary(checks))
    return response


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["username"]


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, f"Welcome, {user.username}.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
