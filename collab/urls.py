from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from collab.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", core_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", core_views.signup, name="signup"),
    path("teams/", include("collab.teams.urls")),
    path("research/", include("collab.research.urls")),
    path("courses/", include("collab.courses.urls")),
    path("experiments/", include("collab.experiments.urls")),
    path("", include("collab.sessions.urls")),
]
