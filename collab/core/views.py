import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from collab.core import health

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request):
    healthy, checks = health.report()
    body = checks if request.user.is_staff else health.public(checks)
    response = JsonResponse(body, status=200 if healthy else 503)
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


def safe_next(request) -> str:
    """The page to go on to after signing up or in (an invite, a course's join
    link), if it is on this site; else empty."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""
def login_policy() -> dict:
    return {"login_failure_limit": settings.AXES_FAILURE_LIMIT,
            "login_cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)}


class LoginView(auth_views.LoginView):
    """Django's login view; the page states the lockout policy."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **login_policy()}


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the login page again, saying why and for how long."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    return render(request, "registration/login.html", {"form": form, "locked_out": True, **login_policy()},
                  status=429)


def signup(request):
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}.")
        return redirect(next_url or "home")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})
