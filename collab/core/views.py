from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from collab.core import health


@require_GET
@never_cache
def healthz(request):
    healthy, checks = health.report()
    return JsonResponse(checks, status=200 if healthy else 503)


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
