"""Exports of several sessions are first-class files: a project's (or
`collab_export 1 2`'s) JSONL is one section per session and imports as that
many sessions; CSV has one header row and a `session` column; notes, "no
label applies" and renamed labels' former names and codebook versions go out
with --annotations."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from collab.research import annotation
from collab.research.codebooks import codebook_save
from collab.research.models import Project
from collab.sessions.models import Event, Session
from tests.research_helpers import run_session


def export(*ids, fmt="jsonl", annotations=False) -> str:
    out = io.StringIO()
    call_command("collab_export", *map(str, ids), "--format", fmt, *(["--annotations"] if annotations else []),
                 stdout=out)
    return out.getvalue()


def streamed(response) -> str:
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def upload(client, body: str):
    file = io.BytesIO(body.encode())
    file.name = "project.jsonl"
    return client.post("/research/import/", {"file": file}, follow=True).content.decode()


def sections(body: str) -> list[list[dict]]:
    out = []
    for line in map(json.loads, body.splitlines()):
        if line["type"] == "header":
            out.append([])
        out[-1].append(line)
    return out


@pytest.fixture
def coded(client, owner, transactional_db):
    """A project over two sessions: alice labels an event under v1 of the
    codebook, the label is then renamed (v2); she notes an event she gives
    no label, and marks another as reviewed with no label."""
    alice = User.objects.create_user("alice", password="alice-pass-123")
    book = codebook_save(owner=owner, codebook=None, name="Tone",
                         labels=[{"name": "Agree", "color": "#16a34a"}, {"name": "Doubt", "color": "#dc2626"}])
    first, second = run_session(owner, pad_to=20, title="First"), run_session(owner, pad_to=12, title="Second")
    client.force_login(owner)
    client.post("/research/projects/new/", {"name": "Tone study", "codebook": book.pk,
                                            "sessions": [first.pk, second.pk]})
    project = Project.objects.get()
    client.post(f"/research/projects/{project.pk}/coders/", {"username": "alice"})
    units = list(second.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq"))
    agree = book.labels.get(name="Agree")
    client.force_login(alice)

    def act(**body):
        response = client.post(f"/research/projects/{project.pk}/annotate/", json.dumps(body),
                               content_type="application/json")
        assert response.status_code == 200, response.content

    act(op="label", session=second.pk, seq=units[0].seq, label=agree.pk)
    act(op="review", session=second.pk, seq=units[1].seq, note="sarcasm? no label fits")
    act(op="review", session=second.pk, seq=units[2].seq)
    codebook_save(owner=owner, codebook=book, name="Tone", labels=[
        {"id": agree.pk, "name": "Support", "color": "#16a34a"},
        {"id": book.labels.get(name="Doubt").pk, "name": "Doubt", "color": "#dc2626"}])
    client.force_login(owner)
    return {"project": project, "first": first, "second": second, "units": [u.seq for u in units[:3]],
            "label": agree}


def test_project_jsonl_imports_as_one_session_per_section_and_re_exports_the_same(client, owner, coded):
    project, first, second = coded["project"], coded["first"], coded["second"]
    body = streamed(client.get(f"/research/projects/{project.pk}/export/?format=jsonl"))
    parts = sections(body)
    assert [p[0]["session"]["title"] for p in parts] == ["First", "Second"]
    # a session's annotation and review lines stay in its own section
    assert not [x for x in parts[0] if x["type"] in {"annotation", "review"}]
    assert {x["type"] for x in parts[1]} == {"header", "event", "annotation", "review"}

    page = upload(client, body)
    assert "Imported 2 sessions (32 events)" in page
    a, b = Session.objects.order_by("-pk")[:2][::-1]
    assert (a.title, a.last_seq, b.title, b.last_seq) == ("First", first.last_seq, "Second", second.last_seq)
    assert export(a.pk, b.pk) == export(first.pk, second.pk)


def test_collab_export_of_several_ids_round_trips_through_collab_import(owner, coded, tmp_path):
    first, second = coded["first"], coded["second"]
    path = tmp_path / "sessions.jsonl"
    path.write_text(export(first.pk, second.pk, annotations=True), encoding="utf-8")
    out = io.StringIO()
    call_command("collab_import", str(path), "--user", "importer", stdout=out)
    assert out.getvalue().count("imported session") == 2
    a, b = Session.objects.filter(owner__username="importer").order_by("pk")
    assert export(a.pk, b.pk).encode() == export(first.pk, second.pk).encode()


def test_a_bad_later_section_refuses_the_whole_file(client, owner, coded, tmp_path):
    first, second = coded["first"], coded["second"]
    lines = export(first.pk, second.pk).splitlines()
    bad_at = first.last_seq + 3  # the second event of the second section
    broken = json.loads(lines[bad_at - 1])
    broken["payload"]["text"] = 7
    lines[bad_at - 1] = json.dumps(broken)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = (Session.objects.count(), Event.objects.count())
    with pytest.raises(CommandError, match=f"line {bad_at} payload: field 'text' must be a string"):
        call_command("collab_import", str(path), stdout=io.StringIO())
    header_at = first.last_seq + 2
    empty = lines[:header_at] + lines[header_at - 1:]  # the second header twice: the first has no events
    path.write_text("\n".join(empty) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match=f"line {header_at} \\(header\\): the session that starts here has no"):
        call_command("collab_import", str(path), stdout=io.StringIO())
    assert (Session.objects.count(), Event.objects.count()) == before


def test_project_csv_has_one_header_row_a_session_column_notes_and_codebook_versions(client, coded):
    project, first, second = coded["project"], coded["first"], coded["second"]
    labelled, noted, none_applies = coded["units"]
    body = streamed(client.get(f"/research/projects/{project.pk}/export/?format=csv"))
    table = list(csv.reader(io.StringIO(body)))
    assert sum(row[:2] == ["session", "seq"] for row in table) == 1
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["session"] for r in rows] == [str(first.pk)] * first.last_seq + [str(second.pk)] * second.last_seq
    by_seq = {int(r["seq"]): r for r in rows if r["session"] == str(second.pk)}
    assert by_seq[labelled]["labels"] == "Support@alice"
    (made,) = json.loads(by_seq[labelled]["annotations"])
    assert (made["label"], made["label_former_names"], made["label_id"]) == ("Support", ["Agree"], coded["label"].pk)
    assert (made["codebook_version"], made["codebook_current_version"]) == (1, 2)
    assert json.loads(by_seq[noted]["notes"]) == [{"project": "Tone study", "coder": "alice",
                                                   "note": "sarcasm? no label fits"}]
    assert by_seq[noted]["labels"] == "" and by_seq[noted]["no_label"] == "alice"
    assert by_seq[none_applies]["no_label"] == "alice" and by_seq[none_applies]["notes"] == ""

    command = export(first.pk, second.pk, fmt="csv", annotations=True)
    assert command.replace("\r\n", "\n") == body.replace("\r\n", "\n")


def test_jsonl_annotations_carry_review_lines_and_former_names(client, coded):
    second = coded["second"]
    labelled, noted, none_applies = coded["units"]
    body = streamed(client.get(f"/research/sessions/{second.pk}/export/?format=jsonl&annotations=1"))
    lines = [json.loads(x) for x in body.splitlines()]
    reviews = {x["seq"]: x for x in lines if x["type"] == "review"}
    assert reviews[noted] == {"type": "review", "project": "Tone study", "project_id": coded["project"].pk,
                              "coder": "alice", "coder_kind": "human", "seq": noted,
                              "note": "sarcasm? no label fits", "no_label": True}
    assert reviews[none_applies]["no_label"] is True and reviews[none_applies]["note"] == ""
    assert labelled not in reviews  # labelled, no note: the annotation line says it all
    (made,) = [x for x in lines if x["type"] == "annotation"]
    assert (made["label"], made["label_former_names"], made["codebook_version"]) == ("Support", ["Agree"], 1)
