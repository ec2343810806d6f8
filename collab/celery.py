import os

from celery import Celery
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")


def _survive_broker_loss() -> None:
    """Keep workers alive through a Redis outage with tasks in flight.

    On a lost broker connection Celery 5.7 first collects the connection
    (which detaches the transport from it) and then closes it. A channel
    whose first close was cut short by the dead socket is closed again, and
    restoring its unacknowledged messages then needs a new Redis client, built
    from the detached transport: an AttributeError that no error handler
    expects, and the worker dies ("Unrecoverable error: 'NoneType' object has
    no attribute 'hostname'"). Raised as the connection error it is, Celery
    and kombu ignore it as they do every other error of a dead broker and
    reconnect. Nothing is lost: the messages stay in Redis's unacked set, and
    the engine's sweeper re-enqueues any turn whose task went missing.
    """
    connparams = kombu_redis.Channel._connparams

    def connparams_of_an_attached_channel(self, asynchronous=False):
        if self.connection.client is None:
            raise kombu_redis.redis.exceptions.ConnectionError("the broker connection was already closed")
        return connparams(self, asynchronous)

    kombu_redis.Channel._connparams = connparams_of_an_attached_channel


_survive_broker_loss()

app = Celery("collab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The engine is not a Django app; its tasks module holds the worker's sweeper
# and, through the runner, the turn's task.
app.autodiscover_tasks(["collab.engine"])
