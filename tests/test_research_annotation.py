"""Annotation projects through the pages and the coding door: coders by
name and by link with the annotator capacity, labels on events and spans,
undo, notes, blind until revealed, adjudication as gold in exports."""

import io
import json

import pytest

from collab.research import annotation
from collab.research.models import Adjudication, Annotation, Codebook, Coder, Project, Reviewed
from collab.sessions.models import Membership
from tests.research_helpers import run_session


@pytest.fixture
def sentiment(owner):
    client_labels = [{"name": n, "color": c} for n, c in
                     (("negative", "#dc2626"), ("positive", "#16a34a"), ("neutral", "#6b7280"))]
    from collab.research.codebooks import codebook_save

    return codebook_save(owner=owner, codebook=None, name="Sentiment", labels=client_labels)


@pytest.fixture
def session(owner, transactional_db):
    return run_session(owner, pad_to=40, title="Coded")


@pytest.fixture
def project(client, owner, session, sentiment, alice, bob):
    client.force_login(owner)
    response = client.post("/research/projects/new/", {"name": "Tone", "codebook": sentiment.pk,
                                                      "sessions": [session.pk]})
    project = Project.objects.get()
    assert response["Location"] == f"/research/projects/{project.pk}/"
    client.post(f"/research/projects/{project.pk}/coders/", {"username": "alice"})
    client.force_login(bob)
    assert "Join as a coder" in client.get(f"/research/projects/join/{project.invite_token}/").content.decode()
    client.post(f"/research/projects/join/{project.invite_token}/")
    assert set(project.coders.values_list("user__username", flat=True)) == {"alice", "bob"}
    return project


def units(session):
    return list(session.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq"))


def act(client, project, **body):
    response = client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(body),
                           content_type="application/json")
    is_json = response["Content-Type"].startswith("application/json")
    return response.status_code, response.json() if is_json else {}


def test_coders_get_the_annotator_capacity_and_nothing_else(client, project, session, alice, outsider):
    membership = Membership.objects.get(session=session, user=alice)
    assert membership.capacity == "annotator"
    client.force_login(alice)
    for url in (f"/sessions/{session.pk}/transcript/", f"/research/sessions/{session.pk}/replay/",
                f"/research/projects/{project.pk}/", f"/research/projects/{project.pk}/code/{session.pk}/"):
        assert client.get(url).status_code == 200, url
    for url in (f"/research/sessions/{session.pk}/export/", f"/research/projects/{project.pk}/adjudicate/",
                f"/research/projects/{project.pk}/agreement/", f"/research/projects/{project.pk}/export/"):
        assert client.get(url).status_code == 404, url
    page = client.post(f"/sessions/{session.pk}/inject/", {"text": "hi"}, follow=True).content.decode()
    assert "Only the session&#x27;s owner" in page
    assert client.post(f"/research/projects/{project.pk}/coders/", {"username": "outsider"}).status_code == 404
    assert client.post(f"/research/projects/{project.pk}/reveal/", {"revealed": "1"}).status_code == 404
    client.force_login(outsider)
    assert client.get(f"/research/projects/{project.pk}/code/{session.pk}/").status_code == 404
    assert act(client, project, op="label", session=session.pk, seq=1, label=1)[0] == 404


def test_labelling_events_and_spans_with_toggle_replace_undo_and_notes(client, project, session, alice, sentiment):
    negative, positive, _neutral = sentiment.labels.all()
    message = session.events.filter(kind="message", actor="analyst", payload__text__icontains="cap the catch").first()
    text = message.payload["text"]
    client.force_login(alice)
    status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=negative.pk)
    assert status == 200 and body["created"]["label"] == negative.pk and body["removed"] == []
    # single-label codebook: another label replaces it
    status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=positive.pk)
    assert body["removed"][0]["label"] == negative.pk
    # undo restores what was replaced and deletes what was made
    status, body = act(client, project, op="undo", delete=[body["created"]["id"]], restore=body["removed"])
    assert status == 200 and [a.label_id for a in Annotation.objects.filter(seq=message.seq)] == [negative.pk]
    # the same label again takes it off
    status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=negative.pk)
    assert body["created"] is None and not Annotation.objects.filter(seq=message.seq).exists()
    start = text.index("cap the catch")
    status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=negative.pk,
                       start=start, end=start + len("cap the catch"))
    span = Annotation.objects.get(pk=body["created"]["id"])
    assert span.quote == "cap the catch" and (span.start, span.end) == (start, start + 13)
    status, body = act(client, project, op="review", session=session.pk, seq=message.seq, note="sarcastic?")
    assert status == 200 and Reviewed.objects.get(seq=message.seq).note == "sarcastic?"
    before = Annotation.objects.count(), list(Reviewed.objects.values_list("seq", "note"))
    for bad, problem in [
        ({"op": "label", "session": session.pk, "seq": message.seq, "label": negative.pk, "start": 0, "end": 10**6},
         "a span must lie inside the event's text"),
        ({"op": "label", "session": session.pk, "seq": message.seq, "label": 999999}, "not in the project's codebook"),
        ({"op": "label", "session": session.pk, "seq": "1", "label": negative.pk}, "'seq' must be a whole number"),
        ({"op": "label", "session": session.pk, "seq": 10**6, "label": negative.pk}, "no codable event"),
        ({"op": "review", "session": session.pk, "seq": message.seq, "note": "a\x00b"}, "NUL character"),
        ({"op": "review", "session": session.pk, "seq": message.seq, "note": "x" * 5000}, "at most 4,000"),
        ({"op": "launch"}, "unknown action"),
    ]:
        status, body = act(client, project, **bad)
        assert status == 400 and problem in body["error"], (bad, body)
    assert (Annotation.objects.count(), list(Reviewed.objects.values_list("seq", "note"))) == before
    response = client.post(f"/research/projects/{project.pk}/annotate/", b"\x00junk", content_type="application/json")
    assert response.status_code == 400


def test_a_label_keypress_is_a_handful_of_queries(client, project, session, alice, sentiment,
                                                 django_assert_max_num_queries):
    """The keypress path (bench/research_workbench.py times it): session, user, the coder
    seat with its project, the label with its event, the coder's labels there, the insert,
    the reviewed mark, and the action's receipt (the page keys every action). A span reads the event's text in the same query as the label."""
    negative, positive = sentiment.labels.all()[:2]
    client.force_login(alice)
    message = next(e for e in units(session) if e.kind == "message")
    text = message.payload["text"]
    with django_assert_max_num_queries(10):  # 8, and BEGIN and COMMIT where SQLite counts them
        status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=negative.pk,
                           key="first-keypress")
    assert status == 200 and body["created"]["label"] == negative.pk
    with django_assert_max_num_queries(12):  # a toggle off also clears the suggestion links and deletes
        status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=negative.pk,
                           key="second-keypress")
    assert body["removed"][0]["label"] == negative.pk and not Annotation.objects.exists()
    status, body = act(client, project, op="label", session=session.pk, seq=message.seq, label=positive.pk,
                       start=1, end=4)
    assert status == 200 and body["created"]["quote"] == text[1:4]
    # Refusals still name the event before the label, whichever is wrong.
    assert act(client, project, op="label", session=session.pk, seq=10**6, label=999999)[1]["error"] == \
        f"no codable event #{10**6} in session {session.pk}"
    assert act(client, project, op="label", session=session.pk + 999, seq=message.seq,
               label=negative.pk)[1]["error"] == "that session is not in this project"
    assert "not in the project's codebook" in act(client, project, op="label", session=session.pk,
                                                  seq=message.seq, label="x")[1]["error"]


def test_blind_until_revealed_and_progress(client, owner, project, session, alice, bob, sentiment):
    negative = sentiment.labels.first()
    seqs = [e.seq for e in units(session)]
    client.force_login(bob)
    act(client, project, op="label", session=session.pk, seq=seqs[0], label=negative.pk)
    act(client, project, op="review", session=session.pk, seq=seqs[1])
    client.force_login(alice)
    page = client.get(f"/research/projects/{project.pk}/code/{session.pk}/").content.decode()
    assert "bob: negative" not in page
    mine = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert f"0 of {len(seqs)} events reviewed" in mine
    client.force_login(owner)
    owner_page = client.get(f"/research/projects/{project.pk}/").content.decode()
    assert f"2/{len(seqs)}" in owner_page and "Reveal labels to coders" in owner_page
    client.post(f"/research/projects/{project.pk}/reveal/", {"revealed": "1"})
    client.force_login(alice)
    assert "bob: negative" in client.get(f"/research/projects/{project.pk}/code/{session.pk}/").content.decode()
    client.force_login(owner)
    client.post(f"/research/projects/{project.pk}/reveal/", {"revealed": "0"})
    client.force_login(alice)
    assert "bob: negative" not in client.get(f"/research/projects/{project.pk}/code/{session.pk}/").content.decode()


def test_adjudicated_labels_are_gold_in_exports(client, owner, project, session, alice, bob, sentiment):
    negative, positive, _ = sentiment.labels.all()
    seq = units(session)[0].seq
    for user, label in ((alice, negative), (bob, positive)):
        client.force_login(user)
        act(client, project, op="label", session=session.pk, seq=seq, label=label.pk)
        if user == alice:
            act(client, project, op="review", session=session.pk, seq=seq, note="irony?")
    client.force_login(owner)
    page = client.get(f"/research/projects/{project.pk}/adjudicate/").content.decode()
    assert f'id="d-{session.pk}-{seq}"' in page and "1 disagreement" in page
    assert page.index("alice") < page.index("bob")
    client.post(f"/research/projects/{project.pk}/adjudicate/", {"session": session.pk, "seq": seq, "label": positive.pk})
    assert [lab.pk for lab in Adjudication.objects.get().labels.all()] == [positive.pk]
    page = client.get(f"/research/projects/{project.pk}/adjudicate/").content.decode()
    assert "decided" in page
    body = b"".join(client.get(f"/research/projects/{project.pk}/export/").streaming_content).decode()
    lines = [json.loads(line) for line in body.splitlines()]
    notes = [x for x in lines if x["type"] == "annotation"]
    assert {(x["coder"], x["label"], x["gold"], x["note"]) for x in notes} == {
        ("alice", "negative", False, "irony?"), ("bob", "positive", False, ""), ("adjudicated", "positive", True, "")}
    rows = b"".join(client.get(f"/research/projects/{project.pk}/export/?format=csv").streaming_content).decode()
    import csv

    table = list(csv.DictReader(io.StringIO(rows)))
    row = next(r for r in table if r["seq"] == str(seq))
    assert row["gold"] == "positive" and set(row["labels"].split(";")) == {"negative@alice", "positive@bob"}


def test_renamed_and_retired_labels_stay_readable(client, owner, project, session, alice, sentiment):
    negative = sentiment.labels.first()
    seq = units(session)[0].seq
    client.force_login(alice)
    act(client, project, op="label", session=session.pk, seq=seq, label=negative.pk)
    client.force_login(owner)
    rows = [{"id": lab.pk, "name": lab.name, "color": lab.color} for lab in sentiment.labels.all()]
    rows[0].update(name="hostile", retired="1")
    data = {"name": "Sentiment"}
    for i, row in enumerate(rows):
        data.update({f"label-{i}-{k}": v for k, v in row.items()})
    client.post(f"/research/codebooks/{sentiment.pk}/edit/", data)
    negative.refresh_from_db()
    assert negative.name == "hostile" and negative.retired and negative.former_names == ["negative"]
    client.force_login(alice)
    page = client.get(f"/research/projects/{project.pk}/code/{session.pk}/").content.decode()
    assert "hostile (retired)" in page  # the old annotation still shows, under its current name
    assert act(client, project, op="label", session=session.pk, seq=seq + 1, label=negative.pk)[1]["error"] == \
        "the label 'hostile' is retired"
    client.force_login(owner)
    transcript = client.get(f"/sessions/{session.pk}/transcript/?label={negative.pk}").content.decode()
    assert f'id="ev-{seq}"' in transcript and "1 of" in transcript
    assert Codebook.objects.get(pk=sentiment.pk).version == 2


def test_project_needs_own_sessions_and_a_name(client, owner, outsider, session, sentiment):
    client.force_login(outsider)
    response = client.post("/research/projects/new/", {"name": "Steal", "codebook": sentiment.pk,
                                                      "sessions": [session.pk]})
    assert response.status_code == 400 and not Project.objects.exists()
    client.force_login(owner)
    page = client.get("/research/projects/new/?q=Cod").content.decode()
    assert f'value="{session.pk}"' in page
    assert f'value="{session.pk}"' not in client.get("/research/projects/new/?q=zzz").content.decode()
    response = client.post("/research/projects/new/", {"name": "", "codebook": sentiment.pk, "sessions": [session.pk]})
    assert response.status_code == 400 and "give the project a name" in response.content.decode()
    assert not Coder.objects.exists()


def test_coding_page_is_paged_and_opens_where_the_coder_left_off(client, owner, alice, sentiment, transactional_db):
    long = run_session(owner, pad_to=400, title="Long")
    project = annotation.project_create(owner=owner, name="Long", codebook=sentiment, sessions=[long])
    annotation.coder_add(project=project, by=owner, user=alice)
    seqs = [e.seq for e in units(long)]
    assert len(seqs) > 200
    client.force_login(alice)
    url = f"/research/projects/{project.pk}/code/{long.pk}/"
    first = client.get(url).content.decode()
    assert first.count('<article class="unit') == 100 and 'data-next="?page=2"' in first and f">0</output> of {len(seqs)} reviewed" in first
    for seq in seqs[:120]:
        annotation.mark_reviewed(project=project, user=alice, session_id=long.pk, seq=seq)
    resumed = client.get(url).content.decode()
    assert f'id="u-{seqs[120]}"' in resumed and f'id="u-{seqs[99]}"' not in resumed and "Events page 2 of" in resumed
    assert f">120</output> of {len(seqs)} reviewed" in resumed and 'data-prev="?page=1"' in resumed
    linked = client.get(url + f"?seq={seqs[5]}").content.decode()
    assert f'id="u-{seqs[5]}"' in linked and "Events page 1 of" in linked
