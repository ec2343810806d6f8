"""Celery doors for the workbench: take ids, call one service."""

from celery import shared_task

from collab.research import coder


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def code_batch(run_id: int, profile_id: int | None) -> None:
    """One batch of a model coder's run; the next batch is a new task, so
    no task nears the time limit and a redelivered one repeats nothing."""
    if coder.code_batch(run_id, profile_id):
        code_batch.delay(run_id, profile_id)
