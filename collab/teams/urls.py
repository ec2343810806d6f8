from django.urls import path

from collab.teams import views

urlpatterns = [
    path("", views.team_list, name="team_list"),
    path("new/", views.team_new, name="team_new"),
    path("presets/<slug:key>/", views.team_from_preset, name="team_from_preset"),
    path("<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("models/", views.model_profile_list, name="model_profile_list"),
    path("models/<int:pk>/edit/", views.model_profile_edit, name="model_profile_edit"),
]
