from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "collab.sessions"
    # Not "sessions": that label belongs to django.contrib.sessions.
    label = "collab_sessions"
    verbose_name = "Collaboration sessions"
