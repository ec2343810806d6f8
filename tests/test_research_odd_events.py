"""Imported logs may hold odd events: a message whose text is a number, a
list or a numeric string. The coding door treats non-string text as no
text (a span is refused with the usual error, a whole-event label works),
and the model coder codes such an event instead of crashing."""

import json

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from collab.research import annotation, coder
from collab.research.codebooks import codebook_save
from collab.research.models import Annotation, CoderCall, CoderRun, Project, Reviewed
from collab.sessions import events as log
from tests.engine_helpers import wait_until
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


def odd_session(owner, texts):
    session = run_session(owner, title="Imported")
    with transaction.atomic():
        locked = log.lock_session(session.pk)
        log.append_many(locked, [{"kind": "message", "actor": "analyst", "turn_index": 200 + i,
                                  "payload": {"text": text}} for i, text in enumerate(texts)])
    session.refresh_from_db()
    return session


@pytest.fixture
def coded(client, owner):
    session = odd_session(owner, [42, ["a", "list"], "42", "plain words"])
    book = codebook_save(owner=owner, codebook=None, name="Tone", labels=[
        {"name": "negative", "color": "#dc2626"}, {"name": "positive", "color": "#16a34a"}])
    alice = User.objects.create_user("alice", password="alice-pass-123")
    client.force_login(owner)
    client.post("/research/projects/new/", {"name": "Odd", "codebook": book.pk, "sessions": [session.pk]})
    project = Project.objects.get()
    client.post(f"/research/projects/{project.pk}/coders/", {"username": "alice"})
    client.force_login(alice)
    odd = list(session.events.filter(kind="message", turn_index__gte=200).order_by("seq"))
    return project, session, book.labels.order_by("pk").first(), odd


def act(client, project, **body):
    response = client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(body),
                           content_type="application/json")
    return response.status_code, response.json()


def test_a_span_on_non_string_text_is_refused_plainly_and_saving_goes_on(client, coded):
    project, session, label, (number, listed, numeric, plain) = coded
    for event in (number, listed):
        status, body = act(client, project, op="label", session=session.pk, seq=event.seq, label=label.pk,
                           start=0, end=1)
        assert status == 400 and body["error"] == "a span must lie inside the event's text (0 to 0 characters)"
        status, body = act(client, project, op="label", session=session.pk, seq=event.seq, label=label.pk)
        assert status == 200 and body["created"]["label"] == label.pk
    status, body = act(client, project, op="label", session=session.pk, seq=numeric.seq, label=label.pk,
                       start=0, end=2)
    assert status == 200 and body["created"]["quote"] == "42"
    status, body = act(client, project, op="label", session=session.pk, seq=plain.seq, label=label.pk,
                       start=0, end=5)
    assert status == 200 and body["created"]["quote"] == "plain"
    # an undo that restores onto odd text answers too (no 500)
    status, body = act(client, project, op="undo", restore=[{"session": session.pk, "seq": number.seq,
                                                            "label": label.pk, "start": 0, "end": 1}])
    assert status == 200 and body["restored"][0]["quote"] == ""
    assert Annotation.objects.filter(seq=plain.seq, quote="plain").exists()


def test_the_model_coder_codes_odd_events_and_a_fault_fails_the_run_visibly(client, owner, worker, monkeypatch):
    session = odd_session(owner, [42, ["a", "list"], None, "We should cap the catch"])
    book = codebook_save(owner=owner, codebook=None, name="Commons", labels=[
        {"name": "Proposes a limit", "color": "#2563eb", "definition": "Suggests a cap on the catch"}])
    project = annotation.project_create(owner=owner, name="Commons", codebook=book, sessions=[session])
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/coder/", {"profile": ""})
    run = wait_until(lambda: CoderRun.objects.exclude(status__in=["queued", "running"]).first(),
                     timeout=60, what="the coder run to end")
    assert (run.status, run.error, run.done) == ("done", "", run.total)
    prompts = [call.messages[1]["content"] for call in CoderCall.objects.filter(run=run, seq__gte=7).order_by("seq")]
    assert prompts[0].endswith("\n42") and prompts[1].endswith('\n["a", "list"]') and prompts[2].endswith(":\n")

    # Any other fault (here: a broken reply parser) fails the run with a readable reason; it never stays running.
    Reviewed.objects.filter(coder=run.coder).delete()
    Annotation.objects.filter(coder=run.coder).delete()

    def broken(*args):
        raise RuntimeError("the parser broke")

    monkeypatch.setattr(coder, "_parse", broken)
    again = CoderRun.objects.create(coder=run.coder, provider="scripted", total=run.total)  # run here, not queued
    assert coder.code_batch(again.pk, None) is False
    again.refresh_from_db()
    assert again.status == "failed" and again.finished_at and again.done == 0
    assert again.error.startswith("stopped on event #") and "RuntimeError: the parser broke" in again.error
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert "RuntimeError: the parser broke" in page and 'data-status="failed"' in page
