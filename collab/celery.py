import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")

app = Celery("collab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The engine is not a Django app; its tasks module holds the worker's sweeper
# and, through the runner, the turn's task.
app.autodiscover_tasks(["collab.engine"])
