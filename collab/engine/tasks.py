"""The worker's side of the engine: every worker runs the sweeper. The turn's
task itself is `runner.turn_task`; importing the sweeper registers it."""

import logging
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

from collab.engine import sweeper

logger = logging.getLogger(__name__)
_stop = threading.Event()


def _sweep_forever() -> None:
    while not _stop.wait(settings.SWEEP_INTERVAL_SECONDS):
        try:
            sweeper.sweep()
        except Exception:
            logger.exception("sweep failed")
        finally:
            connection.close()


@worker_ready.connect
def start_sweeper(**kwargs) -> None:
    """Every worker sweeps: recovering a turn is a claim, so two sweepers
    enqueueing the same turn cost one no-op task, never a duplicate."""
    sweeper.sweep()
    connection.close()
    threading.Thread(target=_sweep_forever, name="collab-sweeper", daemon=True).start()


@worker_shutdown.connect
def stop_sweeper(**kwargs) -> None:
    _stop.set()
