from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "collab.live"
    label = "live"
