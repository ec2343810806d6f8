"""The model coder: a Celery job (real worker) through the provider layer,
offline scripted and against the fake OpenAI-compatible server; progress,
cancel, every prompt and reply recorded, suggestions a human accepts or
rejects, and model-vs-human agreement beside human-human."""

import json

import pytest
from django.contrib.auth.models import User

from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.research import annotation
from collab.research.codebooks import codebook_save
from collab.research.models import Annotation, CoderCall, CoderRun, Project, Reviewed
from tests.engine_helpers import fake_profile, wait_until
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


def make_project(owner, pad_to=40):
    session = run_session(owner, pad_to=pad_to, title="For the coder")
    book = codebook_save(owner=owner, codebook=None, name="Commons", multi_label=True, labels=[
        {"name": "Proposes a limit", "color": "#2563eb", "definition": "Suggests a cap on the catch"},
        {"name": "Agrees", "color": "#16a34a", "definition": "Accepts a proposal: agreed, fine"},
        {"name": "Whispers", "color": "#7c3aed", "definition": "Talks privately: between us"}])
    return annotation.project_create(owner=owner, name="Commons", codebook=book, sessions=[session])


def finished(run_id, timeout=60):
    return wait_until(lambda: CoderRun.objects.filter(pk=run_id).exclude(status__in=["queued", "running"]).first(),
                      timeout=timeout, what="the coder run to end")


def test_scripted_coder_codes_every_event_records_calls_and_is_deterministic(client, owner, worker):
    project = make_project(owner)
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/coder/", {"profile": ""})
    run = finished(CoderRun.objects.get().pk)
    assert run.status == "done" and run.done == run.total > 25  # more than one batch
    units = set(Reviewed.objects.filter(coder=run.coder).values_list("session_id", "seq"))
    assert len(units) == run.total and CoderCall.objects.filter(run=run).count() == run.total
    call = CoderCall.objects.filter(run=run, reply__contains="Proposes a limit").first()
    assert "Proposes a limit" in call.messages[0]["content"] and "cap the catch" in call.messages[1]["content"].lower()
    assert json.loads(call.reply)["why"].startswith("scripted keyword match") and "Proposes a limit" in call.labels
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert "offline scripted, not a model" in page and f"{run.total}/{run.total}" in page
    calls_page = client.get(f"/research/projects/{project.pk}/coder/{run.pk}/calls/").content.decode()
    assert "scripted keyword match" in calls_page and "Code this event" in calls_page
    first = sorted(Annotation.objects.filter(coder=run.coder).values_list("seq", "label__name"))
    # a second run of the same coder has nothing left to do; a fresh coder gives the same labels
    client.post(f"/research/projects/{project.pk}/coder/")
    again = finished(CoderRun.objects.latest("pk").pk)
    assert again.status == "done" and CoderCall.objects.filter(run=again).count() == 0
    Reviewed.objects.filter(coder=run.coder).delete()
    Annotation.objects.filter(coder=run.coder).delete()
    client.post(f"/research/projects/{project.pk}/coder/")
    finished(CoderRun.objects.latest("pk").pk)
    assert sorted(Annotation.objects.filter(coder=run.coder).values_list("seq", "label__name")) == first


def test_cancel_stops_the_run(client, owner, worker):
    project = make_project(owner, pad_to=400)
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/coder/")
    run = CoderRun.objects.get()
    wait_until(lambda: CoderRun.objects.get(pk=run.pk).done > 0, what="the first coded event")
    response = client.post(f"/research/projects/{project.pk}/coder/{run.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert 'data-status="cancelled"' in response.content.decode()
    run.refresh_from_db()
    stopped_at = run.done
    assert run.status == "cancelled" and stopped_at < run.total
    import time

    time.sleep(1.5)
    run.refresh_from_db()
    assert run.done <= stopped_at + 1  # at most the event in flight when cancel landed


def test_openai_coder_through_the_fake_server_and_suggestions_a_human_takes(client, owner, worker):
    project = make_project(owner)
    alice = User.objects.create_user("alice")
    annotation.coder_add(project=project, by=owner, user=alice)
    session = project.sessions.get()
    with run_in_thread(FakeServerConfig(reply='{"labels": ["Agrees", "nonsense"], "why": "it agrees"}')) as server:
        profile = fake_profile(server, owner=owner)
        client.force_login(owner)
        client.post(f"/research/projects/{project.pk}/coder/", {"profile": profile.pk})
        run = finished(CoderRun.objects.get().pk)
        assert server.requests
    assert run.status == "done", run.error
    assert run.coder.model_name == f"fake-model via {profile.name}"
    call = CoderCall.objects.filter(run=run).first()
    assert call.reply.startswith('{"labels"') and call.labels == ["Agrees"] and call.model == "fake-model"
    assert set(Annotation.objects.filter(coder=run.coder).values_list("label__name", flat=True)) == {"Agrees"}
    # alice sees suggestions and takes one, rejects another
    client.force_login(alice)
    page = client.get(f"/research/projects/{project.pk}/code/{session.pk}/").content.decode()
    assert '"label__name": "Agrees"' in page
    first, second = Annotation.objects.filter(coder=run.coder).order_by("seq")[:2]
    ok = client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(
        {"op": "suggestion", "id": first.pk, "verdict": "accept"}), content_type="application/json").json()
    assert ok["verdict"] == "accepted" and ok["created"]["label"] == first.label_id
    assert Annotation.objects.get(pk=ok["created"]["id"]).accepted_from_id == first.pk
    no = client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(
        {"op": "suggestion", "id": second.pk, "verdict": "reject"}), content_type="application/json").json()
    assert no["verdict"] == "rejected" and no["created"] is None
    assert not Annotation.objects.filter(coder__user=alice, seq=second.seq).exists()
    # agreement shows the model next to the humans
    client.force_login(owner)
    agreement = client.get(f"/research/projects/{project.pk}/agreement/").content.decode()
    assert "model vs human" in agreement and "alice" in agreement and "fake-model" in agreement


def test_only_the_owner_runs_or_sees_the_model_coder(client, owner, outsider, worker):
    project = make_project(owner)
    annotation.coder_add(project=project, by=owner, user=outsider)
    client.force_login(outsider)
    assert client.post(f"/research/projects/{project.pk}/coder/").status_code == 404
    assert not CoderRun.objects.exists()
    assert Project.objects.get().coders.count() == 1
