"""The turn loop. A turn is identified by (session, turn_index):

1. claim: one UPDATE that matches only a running session whose next turn is
   this one and whose lease is free or expired; zero rows means someone
   else has it or it is done, and the task returns.
2. call: the agents' model calls run concurrently on the process's shared
   event loop while this thread keeps the lease alive and watches the halt
   flag (pause/stop cut the streams).
3. commit: one transaction, under the session row lock, that checks the
   lease is still ours, appends the turn's events, saves the derived state,
   advances next_turn, and schedules the next turn after commit.

A redelivered or duplicated task finds the turn done (next_turn moved on) or
its lease held, and moves on: no duplicates, no gaps. The Celery task that
runs a turn lives here, beside the turn, so sessions never imports the engine
back.
"""

import asyncio
import logging
import secrets
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from collab import aio, control
from collab.engine import scripted, status
from collab.engine.calls import AgentCall, CallOutcome, run_calls
from collab.engine.prompts import budget_for, build_messages, visible_events
from collab.engine.protocols import PROTOCOLS
from collab.engine.protocols.base import Ctx, Output, Turn
from collab.engine.topologies import TOPOLOGIES
from collab.llm import server
from collab.llm.base import ChatRequest
from collab.sessions import events as log
from collab.sessions import snapshots
from collab.sessions.models import Event, LLMCall, Seat, Session

logger = logging.getLogger(__name__)
RUNNING = Session.Status.RUNNING
HISTORY_WINDOW = 100  # events read per turn; prompts keep the newest a role can see that fit its context
# Purposes whose reply is shown as a message in the transcript.
MESSAGE_PURPOSES = {"message", "review", "plan_draft", "progress", "talk", "reflect"}


@dataclass
class Prepared:
    session: Session
    token: str
    turn: Turn
    ctx: Ctx
    calls: list[AgentCall] = field(default_factory=list)
    human_inputs: dict[str, dict] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)


def ctx_for(session: Session) -> Ctx:
    state = session.state or {}
    return Ctx(
        roles=session.team_snapshot.get("roles", []),
        params=session.protocol_params,
        pstate=dict(state.get("protocol", {})),
        turn_index=session.next_turn,
        plan={"steps": list(state.get("plan", {}).get("steps", [])), "version": state.get("plan", {}).get("version", 0)},
        seed=session.seed,
    )


_inline = threading.local()


# The name is the one the task had in collab.sessions.tasks: messages already
# queued under it still find their task after an upgrade.
@shared_task(name="collab.sessions.tasks.run_turn", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def turn_task(session_id: int, turn_index: int) -> None:
    run_turn(session_id, turn_index)


def enqueue(session_id: int, turn_index: int) -> None:
    """Schedule a turn after commit; in an inline run the caller's loop runs it."""
    if getattr(_inline, "active", False):
        return
    transaction.on_commit(lambda: _send_turn(session_id, turn_index))


def _send_turn(session_id: int, turn_index: int) -> None:
    """The change that scheduled the turn is committed whatever happens here:
    with the broker down, the sweeper enqueues the turn once Redis is back."""
    try:
        turn_task.delay(session_id, turn_index)
    except OperationalError as exc:
        logger.warning("turn %s of session %s not enqueued (%s); the sweeper will retry", turn_index, session_id, exc)


def continue_or_finish(session: Session) -> None:
    """After a committed turn or a resume: finish if an end condition holds, else schedule the next turn."""
    ended = status.end_condition(session, PROTOCOLS.get(session.protocol), ctx_for(session))
    if ended:
        status.change(session, Session.Status.FINISHED, actor="system", reason=ended[0], ended_by=ended[1])
    else:
        enqueue(session.pk, session.next_turn)


# --- claim ---------------------------------------------------------------------

def claim(session_id: int, turn_index: int) -> str | None:
    token = secrets.token_hex(8)
    now = timezone.now()
    claimed = Session.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        pk=session_id, status=RUNNING, next_turn=turn_index,
    ).update(lease_token=token, lease_expires_at=now + timedelta(seconds=settings.TURN_LEASE_SECONDS),
             turn_attempts=F("turn_attempts") + 1)
    return token if claimed else None


def extend_lease(session_id: int, token: str) -> bool:
    until = timezone.now() + timedelta(seconds=settings.TURN_LEASE_SECONDS)
    return bool(Session.objects.filter(pk=session_id, lease_token=token).update(lease_expires_at=until))


def release(session_id: int, token: str) -> None:
    Session.objects.filter(pk=session_id, lease_token=token).update(lease_token="", lease_expires_at=None)


# --- the turn ------------------------------------------------------------------

def run_turn(session_id: int, turn_index: int) -> None:
    token = claim(session_id, turn_index)
    if token is None:
        return
    try:
        prepared = prepare(session_id, token)
        if prepared is None:
            return
        connection.close()  # no connection is held (or pooled slot taken) while models think
        outcomes = call_agents(prepared)
        commit(prepared, outcomes)
    except Exception as exc:
        logger.exception("turn %s of session %s failed", turn_index, session_id)
        record_crash(session_id, token, turn_index, exc)
    finally:
        connection.close()  # hand the connection back (to the pool) while idle


def prepare(session_id: int, token: str) -> Prepared | None:
    session = Session.objects.get(pk=session_id)
    if session.turn_attempts > settings.TURN_MAX_ATTEMPTS:
        status.fail(session_id, f"turn {session.next_turn} failed {settings.TURN_MAX_ATTEMPTS} times", token=token)
        return None
    ctx = ctx_for(session)
    protocol = PROTOCOLS.get(session.protocol)
    reason = status.end_condition(session, protocol, ctx)
    if reason:
        status.finish(session_id, reason, token=token)
        return None
    turn = protocol.next_turn(ctx)
    prepared = Prepared(session=session, token=token, turn=turn, ctx=ctx)

    human_seats = dict(Seat.objects.filter(session=session, role_name__in=turn.actors, holder=Seat.Holder.HUMAN)
                       .values_list("role_name", "timeout_seconds"))
    if human_seats:
        awaiting = (session.state or {}).get("awaiting") or {}
        inputs = awaiting.get("inputs", {}) if awaiting.get("turn") == session.next_turn else {}
        missing = [r for r in human_seats if r not in inputs]
        if missing and not awaiting.get("timed_out"):
            status.await_humans(session_id, token, session.next_turn, list(human_seats), human_seats,
                                observations={r: turn.observations.get(r, "") for r in missing})
            return None
        prepared.human_inputs = {r: inputs[r] for r in human_seats if r in inputs}
        prepared.timed_out = missing

    recent = list(Event.objects.filter(session=session).order_by("-seq")[:HISTORY_WINDOW].values(
        "seq", "kind", "actor", "audience", "payload", "turn_index"))[::-1]
    topology = TOPOLOGIES.get(session.topology)
    for role in ctx.roles:
        if role["name"] not in turn.actors or role["name"] in prepared.human_inputs:
            continue
        try:
            request = request_for(session, role, turn.schema_for(role["name"]))
        except server.ModelConfigError as exc:  # no retry fixes it: pause with the cause, like a failed call
            with transaction.atomic():
                locked = log.lock_session(session_id)
                if locked.lease_token == token:
                    status.pause_for_error(locked, str(exc))
            return None
        messages = build_messages(
            role=role, roster=ctx.roles, brief=session.brief, protocol_title=protocol.title, turn=turn,
            events=recent, topology=topology, topology_params=session.topology_params, plan=ctx.plan,
            extra_rules=protocol.rules(ctx), observation=turn.observations.get(role["name"], ""),
            budget_tokens=budget_for(request.context_window, request.max_tokens) if request.context_window else 0,
            older_unread=bool(recent) and recent[0]["seq"] > 1,
        )
        if request.model == "scripted":
            seen = visible_events(recent, role["name"], topology, session.topology_params, ctx.names)
            request.scripted_reply = scripted.reply(role, turn, ctx, seen)
        request.messages = messages
        profile = role.get("model_profile") or {}
        prepared.calls.append(AgentCall(
            actor=role["name"], request=request, turn=turn, schema=turn.schema_for(role["name"]),
            default=lambda t=turn, a=role["name"]: protocol.default_output(ctx, t, a),
            cost_per_1k=(profile.get("cost_per_1k_prompt", 0.0), profile.get("cost_per_1k_completion", 0.0)),
        ))
    return prepared


def request_for(session: Session, role: dict, schema: dict | None) -> ChatRequest:
    profile = role.get("model_profile") or {}
    if session.provider != "openai" or profile.get("provider") == "scripted":
        return ChatRequest(messages=[], model="scripted", temperature=0, max_tokens=0,
                           context_window=settings.LLM_CONTEXT_WINDOW)
    base_url = profile.get("base_url") or settings.OPENAI_BASE_URL
    configured_server = base_url == settings.OPENAI_BASE_URL
    return ChatRequest(
        messages=[],
        model=profile.get("model") or server.default_model(),
        temperature=float(role.get("temperature") if role.get("temperature") is not None else 0.7),
        max_tokens=int(profile.get("max_tokens") or 512),
        base_url=base_url,
        # Passed as the profile has it: the provider alone decides which key goes where.
        api_key_env=profile.get("api_key_env") or "",
        timeout=float(profile.get("timeout_seconds") or settings.LLM_TIMEOUT_SECONDS),
        json_mode=schema is not None,
        schema=schema,
        structured=profile.get("structured") or settings.LLM_STRUCTURED,
        context_window=int(profile.get("context_window") or 0) or settings.LLM_CONTEXT_WINDOW,
        max_concurrency=int(profile.get("max_concurrency") or 0) or (
            settings.LLM_MAX_CONCURRENCY if configured_server else 0),
    )


def call_agents(prepared: Prepared) -> dict[str, CallOutcome]:
    """Run the calls on the shared loop; keep the lease alive meanwhile. A
    pause or stop reaches the halt event through the process's watcher."""
    if not prepared.calls:
        return {}
    session_id, token = prepared.session.pk, prepared.token
    halt = threading.Event()
    control.halt_watcher.watch(session_id, halt)
    try:
        future = asyncio.run_coroutine_threadsafe(
            run_calls(session_id, prepared.session.next_turn, prepared.calls, halt), aio.loop())
        while True:
            try:
                return future.result(timeout=settings.TURN_LEASE_SECONDS / 3)
            except FutureTimeout:
                pass
            if control.halted(session_id) or not extend_lease(session_id, token):
                halt.set()  # halted, or the turn was taken from us: the commit will sort it out
            connection.close()
    finally:
        control.halt_watcher.unwatch(session_id, halt)


def commit(prepared: Prepared, outcomes: dict[str, CallOutcome]) -> None:
    session_id, turn = prepared.session.pk, prepared.turn
    failure = next((o.unavailable for o in outcomes.values() if o.unavailable), None)
    with transaction.atomic():
        session = log.lock_session(session_id)
        if session.lease_token != prepared.token or session.next_turn != prepared.session.next_turn:
            return  # another worker took the turn over: its commit is the one that counts
        turn_index = session.next_turn
        LLMCall.objects.bulk_create(record for o in outcomes.values() for record in o.records(session, turn_index))
        if failure is not None:
            status.pause_for_error(session, failure)
            return
        halted = session.status != RUNNING
        ctx = ctx_for(session)
        entries: list[dict] = []  # the turn's events, written in one insert

        def add(kind: str, actor: str, payload: dict, audience: list[str] | None = None) -> None:
            entries.append({"kind": kind, "actor": actor, "payload": payload, "audience": audience,
                            "turn_index": turn_index})

        outputs: dict[str, Output] = {}
        for actor in turn.actors:
            if actor in prepared.human_inputs:
                human = prepared.human_inputs[actor]
                outputs[actor] = Output(text=human["text"], data=human.get("data"))
                add("message", actor, {"text": human["text"], "human": human["user"], "phase": turn.phase,
                                       "purpose": turn.purpose})
                continue
            outcome = outcomes.get(actor)
            if outcome is None:
                continue
            for notice in outcome.notices:
                add("turn_error", actor, notice)
            outputs[actor] = outcome.output
            structured = turn.schema_for(actor) is not None
            text = (outcome.output.data or {}).get("message", "") if structured else outcome.output.text
            if turn.purpose in MESSAGE_PURPOSES and (text or outcome.output.interrupted):
                add("message", actor, {
                    "text": text, "interrupted": outcome.output.interrupted, "phase": turn.phase,
                    "purpose": turn.purpose, "model": outcome.model, "scripted": outcome.model == "scripted",
                    "tokens": outcome.completion_tokens, "latency_ms": round(outcome.latency_ms),
                    **({"tokens_estimated": True} if outcome.usage_estimated else {}),
                    **({"cut_at_token_limit": True} if outcome.finish_reason == "length" else {}),
                    **({"verdict": outcome.output.data.get("verdict")} if (outcome.output.data or {}).get("verdict") else {}),
                })
        for actor in prepared.timed_out:
            add("notice", "system", {"text": f"{actor}'s seat timed out; the agent answered.", "seat_timeout": actor})
        for spec in PROTOCOLS.get(session.protocol).after_turn(ctx, turn, outputs):
            add(spec.kind, spec.actor, spec.payload, spec.audience)
        first_seq = session.last_seq + 1
        log.append_many(session, entries, save_seq=False)
        state = dict(session.state or {})
        state["protocol"], state["plan"] = ctx.pstate, ctx.plan
        state.pop("awaiting", None)
        session.state = state
        session.next_turn = turn_index + 1
        session.tokens_used += sum(o.prompt_tokens + o.completion_tokens for o in outcomes.values())
        answered = [o for o in outcomes.values() if o.results]
        session.tokens_estimated = session.tokens_estimated or any(o.usage_estimated for o in answered)
        session.agent_replies += len(answered)
        session.defaulted_replies += sum(1 for o in answered if o.output.defaulted)
        session.cost_used += sum((o.cost for o in outcomes.values()), Decimal(0))
        snapshots.record(session, turn_index=turn_index, first_seq=first_seq, last_seq=session.last_seq, state=state)
        session.lease_token, session.lease_expires_at, session.turn_attempts = "", None, 0
        session.save(update_fields=["state", "next_turn", "tokens_used", "tokens_estimated", "agent_replies",
                                    "defaulted_replies", "cost_used", "lease_token", "lease_expires_at",
                                    "turn_attempts", "last_seq", "updated_at"])
        status.publish_stats_on_commit(session)
        if halted:
            return
        if session.step_budget > 0:
            session.step_budget -= 1
            Session.objects.filter(pk=session_id).update(step_budget=session.step_budget)
            if session.step_budget == 0:
                status.change(session, Session.Status.PAUSED, actor="system", reason="paused after one step")
                return
        continue_or_finish(session)


def record_crash(session_id: int, token: str, turn_index: int, exc: Exception) -> None:
    """Log the error as an event and free the lease; the sweeper retries up to
    the attempt cap, then the session fails with the cause in its log."""
    try:
        with transaction.atomic():
            session = log.lock_session(session_id)
            if session.lease_token != token:
                return
            log.append(session, kind="turn_error", actor="system", turn_index=turn_index, payload={
                "text": f"Turn {turn_index} crashed (attempt {session.turn_attempts}): {type(exc).__name__}: {exc}"[:500],
                "attempt": session.turn_attempts, "retrying": session.turn_attempts < settings.TURN_MAX_ATTEMPTS})
            Session.objects.filter(pk=session_id).update(lease_token="", lease_expires_at=timezone.now())
    except Exception:
        logger.exception("could not record the crash of session %s", session_id)


@contextmanager
def inline():
    """Turns scheduled inside this block are not sent to Celery: run_inline runs them."""
    _inline.active = True
    try:
        yield
    finally:
        _inline.active = False


def run_inline(session_id: int, max_turns: int = 10_000) -> Session:
    """Run a session to its end in this process, without Celery (collab_run --inline)."""
    for _ in range(max_turns):
        session = Session.objects.get(pk=session_id)
        if session.status != RUNNING:
            return session
        run_turn(session_id, session.next_turn)
        connection.close()
    return Session.objects.get(pk=session_id)
