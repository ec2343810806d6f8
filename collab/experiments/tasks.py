"""Celery door: advance an experiment, and come back while it runs."""

import logging

from celery import shared_task
from django.db import connection

from collab.experiments import services

logger = logging.getLogger(__name__)
TICK_SECONDS = 1.0
RETRY_SECONDS = 5.0


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def experiment_tick(experiment_id: int) -> None:
    delay = TICK_SECONDS
    try:
        more = services.experiment_tick(experiment_id=experiment_id)
    except Exception:
        # A crash must not orphan a running experiment: log it and try again shortly.
        logger.exception("experiment %s: tick failed", experiment_id)
        more, delay = True, RETRY_SECONDS
    finally:
        connection.close()
    if more:
        experiment_tick.apply_async((experiment_id,), countdown=delay)
