from django.urls import path

from collab.teams import views

urlpatterns = [
    path("", views.team_list, name="team_list"),
]
