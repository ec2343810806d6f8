"""Changing a project after it started, through its page: the owner removes
a coder (their labels go, and the annotator access the project gave them),
a coder leaves, the owner adds sessions (coders get them) or takes one out
(its labels and gold go). Owner only, POST only; bad input is refused with
a message and writes nothing."""

import json

import pytest

from collab.research import annotation
from collab.research.models import Adjudication, Annotation, Coder, Project, Reviewed
from collab.sessions.models import Membership
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sentiment(owner):
    from collab.research.codebooks import codebook_save

    return codebook_save(owner=owner, codebook=None, name="Sentiment",
                         labels=[{"name": "negative", "color": "#dc2626"}, {"name": "positive", "color": "#16a34a"}])


@pytest.fixture
def session(owner):
    return run_session(owner, pad_to=24, title="First")


@pytest.fixture
def second(owner):
    return run_session(owner, pad_to=18, title="Second")


@pytest.fixture
def project(client, owner, session, sentiment, alice, bob):
    client.force_login(owner)
    client.post("/research/projects/new/", {"name": "Tone", "codebook": sentiment.pk, "sessions": [session.pk]})
    project = Project.objects.get()
    for name in ("alice", "bob"):
        client.post(f"/research/projects/{project.pk}/coders/", {"username": name})
    assert set(project.coders.values_list("user__username", flat=True)) == {"alice", "bob"}
    return project


def units(session):
    return [e.seq for e in session.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq")]


def label(client, user, project, session, seq, label, note=None):
    client.force_login(user)
    body = {"op": "label", "session": session.pk, "seq": seq, "label": label.pk}
    response = client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    if note is not None:
        body = {"op": "review", "session": session.pk, "seq": seq, "note": note}
        assert client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(body),
                           content_type="application/json").status_code == 200


def seat(project, user):
    return Coder.objects.get(project=project, user=user)


def capacity(session, user):
    return Membership.objects.filter(session=session, user=user).values_list("capacity", flat=True).first()


def snapshot():
    """Everything a refused change must leave as it was."""
    return (sorted(Coder.objects.values_list("pk", "project", "user")),
            sorted(Annotation.objects.values_list("pk", "coder", "session", "seq", "label")),
            sorted(Reviewed.objects.values_list("pk", "coder", "session", "seq", "note")),
            sorted(Adjudication.objects.values_list("pk", "project", "session", "seq")),
            sorted(Membership.objects.values_list("session", "user", "capacity")),
            sorted(Project.sessions.through.objects.values_list("project", "session")))


def flash(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def test_owner_removes_a_coder_and_everything_of_theirs_goes(client, owner, project, session, alice, bob, sentiment):
    negative, positive = sentiment.labels.all()
    first, second_seq = units(session)[:2]
    label(client, alice, project, session, first, negative, note="sarcastic?")
    label(client, alice, project, session, second_seq, positive)
    label(client, bob, project, session, first, positive)
    client.force_login(owner)
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    confirm = page[page.index(f'id="coder-{seat(project, alice).pk}"'):]
    confirm = confirm[:confirm.index("</tr>")]
    assert "Remove alice from this project? This deletes their 2 annotations and 2 reviewed marks (1 with a note)" in confirm
    assert f"/research/projects/{project.pk}/export/?format=jsonl" in confirm and "export the project" in confirm
    agreement = client.get(f"/research/projects/{project.pk}/agreement/")
    assert [c.name for c in agreement.context["coders"]] == ["alice", "bob"] and "alice" in agreement.content.decode()
    assert "alice" in client.get(f"/research/projects/{project.pk}/adjudicate/").content.decode()

    response = client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": seat(project, alice).pk},
                           follow=True)
    assert "Removed alice: deleted 2 annotations, 2 reviewed marks (1 with a note)" in flash(response)
    assert not Coder.objects.filter(user=alice).exists()
    assert not Annotation.objects.filter(coder__user=alice).exists() and not Reviewed.objects.filter(coder__user=alice).exists()
    assert capacity(session, alice) is None
    assert Annotation.objects.filter(coder__user=bob).count() == 1 and capacity(session, bob) == "annotator"
    agreement = client.get(f"/research/projects/{project.pk}/agreement/")
    assert [c.name for c in agreement.context["coders"]] == ["bob"] and "alice" not in agreement.content.decode()
    assert "alice" not in client.get(f"/research/projects/{project.pk}/adjudicate/").content.decode()
    assert "alice" not in client.get(f"/research/projects/{project.pk}/").content.decode()

    client.force_login(alice)
    for url in (f"/research/projects/{project.pk}/", f"/research/projects/{project.pk}/code/{session.pk}/",
                f"/sessions/{session.pk}/transcript/", f"/research/sessions/{session.pk}/replay/"):
        assert client.get(url).status_code == 404, url
    body = json.dumps({"op": "label", "session": session.pk, "seq": first, "label": negative.pk})
    assert client.post(f"/research/projects/{project.pk}/annotate/", body,
                       content_type="application/json").status_code == 404
    assert not Annotation.objects.filter(coder__user=alice).exists()


def test_removal_keeps_access_given_for_another_reason(client, owner, project, session, sentiment, alice, bob):
    """A membership that is not the annotator one stays; so does an annotator
    membership another project of the coder's still needs."""
    Membership.objects.filter(session=session, user=bob).update(capacity="observer")  # the owner made bob an observer
    other = annotation.project_create(owner=owner, name="Other", codebook=sentiment, sessions=[session])
    annotation.coder_add(project=other, by=owner, user=alice)
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": seat(project, bob).pk})
    client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": seat(project, alice).pk})
    assert list(project.coders.all()) == []
    assert capacity(session, bob) == "observer" and capacity(session, alice) == "annotator"
    client.force_login(alice)
    assert client.get(f"/research/projects/{other.pk}/code/{session.pk}/").status_code == 200
    assert client.get(f"/research/projects/{project.pk}/").status_code == 404
    client.force_login(owner)
    client.post(f"/research/projects/{other.pk}/coders/remove/", {"coder": seat(other, alice).pk})
    assert capacity(session, alice) is None and capacity(session, owner) == "owner"
    assert client.get(f"/sessions/{session.pk}/transcript/").status_code == 200


def test_only_the_owner_removes_and_bad_input_writes_nothing(client, owner, project, session, sentiment, alice, bob,
                                                             outsider):
    negative, _ = sentiment.labels.all()
    label(client, alice, project, session, units(session)[0], negative)
    other = annotation.project_create(owner=owner, name="Other", codebook=sentiment, sessions=[session])
    stranger = annotation.coder_add(project=other, by=owner, user=outsider)
    before = snapshot()
    target = {"coder": seat(project, alice).pk}
    for user in (bob, outsider):
        client.force_login(user)
        assert client.post(f"/research/projects/{project.pk}/coders/remove/", target).status_code == 404
        assert client.post(f"/research/projects/{project.pk}/sessions/remove/", {"session": session.pk}).status_code == 404
        assert client.get(f"/research/projects/{project.pk}/sessions/add/").status_code == 404
    client.force_login(owner)
    assert client.get(f"/research/projects/{project.pk}/coders/remove/", target).status_code == 405
    refused = {"abc": "the coder must be a number", "1\x00": "the coder contains a NUL character",
               "": "the coder must be a number", str(stranger.pk): "that coder is not in this project",
               "999999": "that coder is not in this project"}
    for value, words in refused.items():
        response = client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": value}, follow=True)
        assert f"Not removed: {words}" in flash(response), value
    assert snapshot() == before


def test_a_coder_leaves_of_their_own_accord(client, owner, project, session, sentiment, alice):
    negative, _ = sentiment.labels.all()
    label(client, alice, project, session, units(session)[0], negative, note="hm")
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert "Leave Tone? This deletes your 1 annotation and 1 reviewed mark (1 with a note)" in page
    response = client.post(f"/research/projects/{project.pk}/leave/", follow=True)
    assert response.redirect_chain[-1][0] == "/research/"
    assert "You left Tone; deleted your 1 annotation, 1 reviewed mark (1 with a note)." in flash(response)
    assert not Coder.objects.filter(user=alice).exists() and capacity(session, alice) is None
    assert client.get(f"/research/projects/{project.pk}/").status_code == 404
    client.force_login(owner)
    response = client.post(f"/research/projects/{project.pk}/leave/", follow=True)
    assert "you own this project" in flash(response)


def test_owner_adds_sessions_and_coders_get_them(client, owner, project, session, second, alice, bob, sentiment):
    Membership.objects.create(session=second, user=bob, capacity="participant")
    client.force_login(owner)
    page = client.get(f"/research/projects/{project.pk}/sessions/add/").content.decode()
    assert f'value="{second.pk}"' in page and f'value="{session.pk}"' not in page
    assert "Second" in client.get(f"/research/projects/{project.pk}/sessions/add/?q=sec").content.decode()
    assert "Second" not in client.get(f"/research/projects/{project.pk}/sessions/add/?q=zzz").content.decode()
    response = client.post(f"/research/projects/{project.pk}/sessions/add/", {"sessions": [second.pk]}, follow=True)
    assert "Added 1 session; its 2 coder(s) can code them now." in flash(response)
    assert set(project.sessions.values_list("pk", flat=True)) == {session.pk, second.pk}
    assert capacity(second, alice) == "annotator" and capacity(second, bob) == "participant"
    total = len(units(session)) + len(units(second))
    assert f"0/{total}" in response.content.decode()

    client.force_login(alice)
    mine = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert f"/research/projects/{project.pk}/code/{second.pk}/" in mine and f"0 of {total} events" in mine
    assert client.get(f"/research/projects/{project.pk}/code/{second.pk}/").status_code == 200
    negative, _ = sentiment.labels.all()
    label(client, alice, project, second, units(second)[0], negative)
    assert f"1 of {total} events" in client.get(f"/research/projects/{project.pk}/").content.decode()


def test_adding_a_session_not_ones_own_is_refused_and_writes_nothing(client, owner, project, session, alice,
                                                                     outsider, second):
    theirs = run_session(outsider, title="Theirs")
    client.force_login(owner)
    assert "Theirs" not in client.get(f"/research/projects/{project.pk}/sessions/add/").content.decode()
    before = snapshot()
    refused = {(theirs.pk,): f"you do not own session {theirs.pk}",
               (second.pk, theirs.pk): f"you do not own session {theirs.pk}",
               (session.pk,): f"session {session.pk} is already in this project",
               ("abc",): "the session must be a number", ("7\x00",): "the session contains a NUL character",
               (): "pick at least one session", (999999,): "there is no session 999999"}
    for ids, words in refused.items():
        response = client.post(f"/research/projects/{project.pk}/sessions/add/", {"sessions": list(ids)})
        assert response.status_code == 400, ids
        assert f"Not added: {words}" in response.content.decode(), ids
    assert snapshot() == before
    assert capacity(theirs, alice) is None and capacity(second, alice) is None


def test_owner_takes_a_session_out_with_its_labels(client, owner, project, session, second, alice, bob, sentiment):
    negative, positive = sentiment.labels.all()
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/sessions/add/", {"sessions": [second.pk]})
    seq = units(session)[0]
    label(client, alice, project, session, seq, negative, note="why")
    label(client, bob, project, session, seq, positive)
    label(client, alice, project, second, units(second)[0], positive)
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/adjudicate/", {"session": session.pk, "seq": seq,
                                                                 "label": positive.pk})
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert ("This deletes the project's 2 annotations and 2 reviewed marks (1 with a note) on it, and 1 gold decision"
            in page)

    response = client.post(f"/research/projects/{project.pk}/sessions/remove/", {"session": session.pk}, follow=True)
    assert (f"Took session #{session.pk} out of the project: deleted 2 annotations, 2 reviewed marks (1 with a note), "
            "1 gold decision; 2 coder(s) lost access to it." in flash(response))
    assert list(project.sessions.values_list("pk", flat=True)) == [second.pk]
    assert not Annotation.objects.filter(session=session).exists() and not Reviewed.objects.filter(session=session).exists()
    assert not Adjudication.objects.exists()
    assert Annotation.objects.filter(session=second, coder__user=alice).count() == 1
    assert capacity(session, alice) is None and capacity(session, bob) is None
    assert capacity(second, alice) == "annotator"
    assert session.events.count() == session.last_seq  # the log is untouched
    assert "A project keeps at least one session." in response.content.decode()

    client.force_login(alice)
    assert client.get(f"/research/projects/{project.pk}/code/{session.pk}/").status_code == 404
    assert client.get(f"/sessions/{session.pk}/transcript/").status_code == 404
    assert client.get(f"/research/projects/{project.pk}/code/{second.pk}/").status_code == 200

    client.force_login(owner)
    before = snapshot()
    refused = {str(second.pk): "a project keeps at least one session", str(session.pk): "that session is not in this project",
               "x": "the session must be a number", "1\x00": "the session contains a NUL character"}
    for value, words in refused.items():
        response = client.post(f"/research/projects/{project.pk}/sessions/remove/", {"session": value}, follow=True)
        assert f"Not removed: {words}" in flash(response), value
    assert snapshot() == before


def test_a_removed_then_reinvited_coder_starts_clean(client, owner, project, session, alice, sentiment):
    negative, _ = sentiment.labels.all()
    for seq in units(session)[:3]:
        label(client, alice, project, session, seq, negative, note="first pass")
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": seat(project, alice).pk})
    client.post(f"/research/projects/{project.pk}/coders/", {"username": "alice"})
    assert capacity(session, alice) == "annotator"
    client.force_login(alice)
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert f"0 of {len(units(session))} events reviewed" in page
    coding = client.get(f"/research/projects/{project.pk}/code/{session.pk}/")
    assert coding.status_code == 200 and coding.context["mine"] == [] and coding.context["reviewed"] == {}
    assert not Annotation.objects.filter(coder__user=alice).exists()


def test_a_model_coder_is_removed_with_its_suggestions_but_accepted_labels_stay(client, owner, project, session, alice,
                                                                                sentiment):
    negative, _ = sentiment.labels.all()
    seq = units(session)[0]
    model = project.coders.create(kind=Coder.Kind.MODEL, model_name="scripted")
    suggestion = Annotation.objects.create(coder=model, session=session, seq=seq, label=negative)
    Reviewed.objects.create(coder=model, session=session, seq=seq)
    run = model.runs.create(status="running")
    client.force_login(alice)
    body = json.dumps({"op": "suggestion", "id": suggestion.pk, "verdict": "accept"})
    assert client.post(f"/research/projects/{project.pk}/annotate/", body,
                       content_type="application/json").status_code == 200
    client.force_login(owner)
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert "Remove model: scripted? This deletes its 1 suggestion on 1 event" in page
    response = client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": model.pk}, follow=True)
    assert "Not removed: this model coder is running; cancel its run first." in flash(response)
    run.status = "done"
    run.save()
    memberships = sorted(Membership.objects.values_list("session", "user", "capacity"))
    response = client.post(f"/research/projects/{project.pk}/coders/remove/", {"coder": model.pk}, follow=True)
    assert "Removed model: scripted: deleted 1 annotation, 1 reviewed mark." in flash(response)
    assert not Coder.objects.filter(kind=Coder.Kind.MODEL).exists()
    mine = Annotation.objects.get(coder__user=alice)
    assert mine.label == negative and mine.accepted_from is None
    assert sorted(Membership.objects.values_list("session", "user", "capacity")) == memberships
