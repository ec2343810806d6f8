"""A model applies a project's codebook, as one more coder.

A Celery job walks the project's codable events in batches through the
same provider layer the agents use (collab.llm): an OpenAI-compatible model
from a model profile, or, offline, a scripted keyword coder whose replies are
deterministic and say plainly that no model wrote them. Every call's prompt
and reply is recorded (CoderCall). A batch codes only events this coder has
not reviewed yet, so a redelivered task or a re-run repeats nothing; cancel
is a status the job re-reads before each event.
"""

import json
import logging
import re
import time

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from collab import aio
from collab.llm.base import ChatRequest, LLMUnavailable
from collab.llm.registry import get_provider
from collab.research.annotation import UNIT_KINDS, AnnotationError
from collab.research.models import Annotation, Coder, CoderCall, CoderRun, Label, Project, Reviewed
from collab.sessions.models import Event
from collab.teams.models import ModelProfile

SCRIPTED_NAME = "scripted keyword coder (offline, not a language model)"
BATCH = 25
CONTEXT = 3  # earlier messages shown with the event
WORD = re.compile(r"[a-z]{4,}")
log = logging.getLogger(__name__)


def run_start(*, project: Project, by, profile: ModelProfile | None = None) -> CoderRun:
    """Queue a model coder's pass over the project (the owner only)."""
    if by.pk != project.owner_id:
        raise AnnotationError("only the project's owner runs a model coder")
    if profile is not None and profile.provider != ModelProfile.Provider.OPENAI:
        profile = None
    name = f"{profile.model or profile.name} via {profile.name}" if profile else SCRIPTED_NAME
    with transaction.atomic():
        coder, _ = Coder.objects.get_or_create(project=project, kind=Coder.Kind.MODEL, model_name=name[:120])
        if coder.runs.filter(status__in=[CoderRun.Status.QUEUED, CoderRun.Status.RUNNING]).exists():
            raise AnnotationError("this model coder is already running")
        total = Event.objects.filter(session__in=project.sessions.all(), kind__in=UNIT_KINDS).count()
        run = CoderRun.objects.create(coder=coder, provider="openai" if profile else "scripted", total=total,
                                      done=Reviewed.objects.filter(coder=coder).count())
        profile_id = profile.pk if profile else None
        transaction.on_commit(lambda: _enqueue(run.pk, profile_id))
    return run


def _enqueue(run_id: int, profile_id: int | None) -> None:
    from collab.research.tasks import code_batch

    code_batch.delay(run_id, profile_id)


def run_cancel(*, run: CoderRun, by) -> CoderRun:
    if by.pk != run.coder.project.owner_id:
        raise AnnotationError("only the project's owner cancels a model coder")
    CoderRun.objects.filter(pk=run.pk, status__in=[CoderRun.Status.QUEUED, CoderRun.Status.RUNNING]).update(
        status=CoderRun.Status.CANCELLED, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _status(run_id: int) -> str:
    return CoderRun.objects.filter(pk=run_id).values_list("status", flat=True).first() or CoderRun.Status.CANCELLED


def code_batch(run_id: int, profile_id: int | None) -> bool:
    """Code up to BATCH events not yet reviewed by this coder; True if more remain."""
    run = CoderRun.objects.select_related("coder__project__codebook").filter(pk=run_id).first()
    if run is None or run.status not in {CoderRun.Status.QUEUED, CoderRun.Status.RUNNING}:  # deleted or over
        return False
    CoderRun.objects.filter(pk=run_id, status=CoderRun.Status.QUEUED).update(status=CoderRun.Status.RUNNING)
    coder, project = run.coder, run.coder.project
    profile = ModelProfile.objects.filter(pk=profile_id).first() if profile_id else None
    labels = list(project.codebook.labels.filter(retired=False))
    done = set(Reviewed.objects.filter(coder=coder).values_list("session_id", "seq"))
    todo = [e for e in Event.objects.filter(session__in=project.sessions.all(), kind__in=UNIT_KINDS)
            .order_by("session_id", "seq") if (e.session_id, e.seq) not in done]
    for event in todo[:BATCH]:
        if _status(run_id) != CoderRun.Status.RUNNING:
            return False
        try:
            _code_one(run, coder, project, labels, event, profile)
        except LLMUnavailable as exc:
            _fail(run_id, exc.cause)
            return False
        except Exception as exc:  # any other fault ends the run, said on the project page, never left "running"
            log.exception("model coder run %s failed on event %s#%s", run_id, event.session_id, event.seq)
            _fail(run_id, f"stopped on event #{event.seq} of session {event.session_id}: "
                          f"{type(exc).__name__}: {exc}")
            return False
    if len(todo) > BATCH:
        return True
    CoderRun.objects.filter(pk=run_id, status=CoderRun.Status.RUNNING).update(
        status=CoderRun.Status.DONE, finished_at=timezone.now())
    return False


def _fail(run_id: int, error: str) -> None:
    CoderRun.objects.filter(pk=run_id, status__in=[CoderRun.Status.QUEUED, CoderRun.Status.RUNNING]).update(
        status=CoderRun.Status.FAILED, error=error[:500], finished_at=timezone.now())


def prompt(project: Project, labels: list[Label], event: Event, context: list[Event]) -> list[dict]:
    book = project.codebook
    codes = "\n".join(f"- {label.name}: {label.definition}" + (f" Example: {label.example}" if label.example else "")
                      for label in labels)
    rule = ("Give every label that applies (possibly none)." if book.multi_label
            else "Give at most one label, or none.")
    earlier = "\n".join(f"{e.actor}: {_text(e)}" for e in context) or "(nothing earlier)"
    return [
        {"role": "system", "content": f"You code transcripts of a multi-agent team with the codebook "
                                      f"\"{book.name}\".\n{book.description}\nLabels:\n{codes}\n{rule} "
                                      "Answer with JSON only: {\"labels\": [label names], \"why\": \"one sentence\"}."},
        {"role": "user", "content": f"Earlier:\n{earlier}\n\nCode this event by {event.actor} "
                                    f"({event.get_kind_display()}):\n{_text(event)}"},
    ]


def _text(event: Event) -> str:
    payload = event.payload or {}
    if event.kind == "message":
        text = payload.get("text")
        return text if isinstance(text, str) else "" if text is None else json.dumps(text)  # imported logs vary
    if event.kind == "vote":
        return f"votes {payload.get('vote')}: {payload.get('reason', '')}"
    if event.kind == "action":
        return "acts: " + json.dumps(payload.get("action", {}), sort_keys=True)
    return json.dumps(payload, sort_keys=True)[:2000]


def scripted_reply(labels: list[Label], text: str, multi: bool) -> str:
    """The offline coder: a label applies when words of its name or
    definition (4+ letters) occur in the event; deterministic by design."""
    words = set(WORD.findall(text.lower()))
    scores = []
    for label in labels:
        keys = set(WORD.findall(f"{label.name} {label.definition}".lower()))
        hits = sorted(words & keys)
        if hits:
            scores.append((len(hits), label.name, hits))
    scores.sort(key=lambda s: (-s[0], s[1]))
    chosen = scores if multi else scores[:1]
    why = "; ".join(f"{name}: {', '.join(hits)}" for _, name, hits in chosen) or "no label word found"
    return json.dumps({"labels": [name for _, name, _ in chosen], "why": f"scripted keyword match ({why})"})


def _parse(reply: str, labels: list[Label], multi: bool) -> list[Label]:
    match = re.search(r"\{.*\}", reply, re.S)
    try:
        names = json.loads(match.group(0)).get("labels", []) if match else []
    except (json.JSONDecodeError, AttributeError):
        names = []
    by_name = {label.name.casefold(): label for label in labels}
    chosen = [by_name[n.casefold()] for n in names if isinstance(n, str) and n.casefold() in by_name]
    chosen = list(dict.fromkeys(chosen))
    return chosen if multi else chosen[:1]


def _code_one(run: CoderRun, coder: Coder, project: Project, labels: list[Label], event: Event,
              profile: ModelProfile | None) -> None:
    context = list(Event.objects.filter(session_id=event.session_id, seq__lt=event.seq, kind="message")
                   .order_by("-seq")[:CONTEXT])[::-1]
    messages = prompt(project, labels, event, context)
    multi = project.codebook.multi_label
    if profile is None:
        request = ChatRequest(messages=messages, model="scripted", temperature=0, max_tokens=200,
                              scripted_reply=scripted_reply(labels, _text(event), multi),
                              scripted_tokens_per_second=0)
        provider = get_provider("scripted")
    else:
        request = ChatRequest(messages=messages, model=profile.model, temperature=0, max_tokens=200,
                              base_url=profile.base_url, api_key_env=profile.api_key_env,
                              timeout=profile.timeout_seconds, json_mode=True)
        provider = get_provider("openai")
    started = time.monotonic()

    async def ignore(_delta):
        return None

    result = aio.run(provider.stream(request, ignore, lambda: False), timeout=request.timeout + 30)
    chosen = _parse(result.text, labels, multi)
    with transaction.atomic():
        _, created = Reviewed.objects.get_or_create(coder=coder, session_id=event.session_id, seq=event.seq)
        if not created:
            return  # another delivery of this batch coded it first
        Annotation.objects.bulk_create(Annotation(coder=coder, session_id=event.session_id, seq=event.seq, label=label,
                                                  codebook_version=project.codebook.version) for label in chosen)
        CoderCall.objects.create(run=run, session_id=event.session_id, seq=event.seq,
                                 model=result.model or request.model, messages=messages, reply=result.text,
                                 labels=[label.name for label in chosen],
                                 latency_ms=(time.monotonic() - started) * 1000)
        CoderRun.objects.filter(pk=run.pk).update(done=F("done") + 1)
