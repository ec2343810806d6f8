"""Recovery: turns whose worker died, turns whose task was lost, and human
seats whose timeout passed. Idempotent: re-enqueueing a turn that is being
run or is done is a no-op for the claim."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from collab.engine import runner, status
from collab.sessions import events as log
from collab.sessions.models import Session

logger = logging.getLogger(__name__)


def sweep() -> list[int]:
    now = timezone.now()
    lost_task = now - timedelta(seconds=settings.TURN_LEASE_SECONDS * 2)
    stalled = Session.objects.filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, updated_at__lt=lost_task),
        status=Session.Status.RUNNING,
    ).values_list("pk", "next_turn")
    recovered = []
    for session_id, turn_index in stalled:
        try:
            runner.turn_task.delay(session_id, turn_index)
        except OperationalError as exc:
            logger.warning("broker unavailable (%s): stalled turns are enqueued at a later sweep", exc)
            break
        recovered.append(session_id)
    for session in Session.objects.filter(status=Session.Status.AWAITING_HUMAN).only("pk", "state"):
        deadline = (session.state or {}).get("awaiting", {}).get("deadline")
        if deadline and datetime.fromisoformat(deadline) < now:
            if seat_timeout(session.pk):
                recovered.append(session.pk)
    return recovered


def seat_timeout(session_id: int) -> bool:
    with transaction.atomic():
        session = log.lock_session(session_id)
        awaiting = (session.state or {}).get("awaiting") or {}
        deadline = awaiting.get("deadline")
        if session.status != Session.Status.AWAITING_HUMAN or not deadline:
            return False
        if datetime.fromisoformat(deadline) >= timezone.now():
            return False
        state = dict(session.state)
        state["awaiting"] = {**awaiting, "timed_out": True}
        session.state = state
        session.save(update_fields=["state"])
        status.change(session, Session.Status.RUNNING, actor="system", reason="seat timeout: the agent answers")
        runner.enqueue(session.pk, session.next_turn)
        return True
