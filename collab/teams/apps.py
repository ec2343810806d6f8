from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "collab.teams"
    label = "teams"
