"""Transcripts out and in: collab_export / collab_import, the download and
upload doors, the schema checks, and the byte-identical round trip."""

import csv
import io
import json
import os

import pytest
from django.core.management import CommandError, call_command

from collab.sessions import services
from collab.sessions.models import Event, Membership, Session
from collab.sessions.permissions import Refused
from collab.teams.models import ModelProfile
from tests.research_helpers import run_session


def export(*ids, fmt="jsonl", annotations=False) -> str:
    out = io.StringIO()
    call_command("collab_export", *map(str, ids), "--format", fmt, *(["--annotations"] if annotations else []),
                 stdout=out)
    return out.getvalue()


def import_file(path, user="importer") -> Session:
    call_command("collab_import", str(path), "--user", user, stdout=io.StringIO())
    return Session.objects.latest("pk")


@pytest.mark.django_db(transaction=True)
def test_export_import_export_is_byte_identical_on_1000_events(owner, tmp_path):
    session = run_session(owner, pad_to=1000, title="Long run")
    assert session.last_seq == 1000
    first = export(session.pk)
    lines = first.splitlines()
    assert len(lines) == 1001
    head = json.loads(lines[0])
    assert head["schema"] == "collab.transcript" and head["version"] == 1
    assert head["session"]["title"] == "Long run" and head["protocol"]["name"] == "round_robin"
    assert [r["name"] for r in head["team"]["roles"]] == ["analyst", "coder", "tester"]
    assert json.loads(lines[1])["seq"] == 1 and json.loads(lines[-1])["seq"] == 1000
    path = tmp_path / "run.jsonl"
    path.write_text(first, encoding="utf-8")

    imported = import_file(path)
    assert imported.pk != session.pk and imported.last_seq == 1000
    assert imported.status == "finished" and imported.owner.username == "importer"
    second = export(imported.pk)
    assert second == first
    assert second.encode() == first.encode()


@pytest.mark.django_db(transaction=True)
def test_imported_session_is_finished_and_read_only(owner, tmp_path):
    session = run_session(owner, title="Short")
    path = tmp_path / "short.jsonl"
    path.write_text(export(session.pk), encoding="utf-8")
    imported = import_file(path, user=owner.username)
    assert imported.owner == owner and imported.is_over and not imported.seats.exists()
    with pytest.raises(Refused):
        services.session_start(session=imported, user=owner)
    with pytest.raises(Refused):
        services.session_inject(session=imported, user=owner, text="late note")
    with pytest.raises(Refused):
        services.seat_take(session=imported, user=owner, role="analyst")
    assert imported.events.count() == session.last_seq


@pytest.mark.django_db
def test_secrets_never_leave(owner):
    profile = ModelProfile.objects.create(name="lab server", provider="openai", model="llama-3-8b",
                                          base_url="http://admin:hunter2@models.lab.example/v1",
                                          api_key_env="LAB_SECRET_KEY_VAR")
    from tests.engine_helpers import make_team

    session = services.session_create(owner=owner, team=make_team(owner, profile=profile), provider="openai")
    services.session_inject(session=session, user=owner, text="hello")
    for fmt in ("jsonl", "csv"):
        text = export(session.pk, fmt=fmt)
        for secret in ("hunter2", "LAB_SECRET_KEY_VAR", "models.lab.example", session.share_token, "base_url",
                       "api_key_env"):
            assert secret not in text, (fmt, secret)
    head = json.loads(export(session.pk).splitlines()[0])
    assert head["models"] == ["llama-3-8b"]
    assert head["team"]["roles"][0]["model"] == {"name": "lab server", "provider": "openai", "model": "llama-3-8b",
                                                 "temperature": 0.7, "max_tokens": 512}


@pytest.mark.django_db
def test_csv_has_one_row_per_event(owner):
    session = services.session_create(owner=owner, team=__import__("tests.engine_helpers").engine_helpers.make_team(owner))
    for text in ("first, with a comma", 'second "quoted"', "third\nwith a newline"):
        services.session_inject(session=session, user=owner, text=text)
    rows = list(csv.reader(io.StringIO(export(session.pk, fmt="csv"))))
    assert rows[0] == ["session", "seq", "created_at", "kind", "actor", "audience", "turn_index", "text", "payload"]
    assert [r[:2] for r in rows[1:]] == [[str(session.pk), "1"], [str(session.pk), "2"], [str(session.pk), "3"]]
    assert rows[3][7] == "third\nwith a newline" and rows[1][4] == "user:owner"


def header_line(**session) -> str:
    return json.dumps({"type": "header", "schema": "collab.transcript", "version": 1,
                       "session": {"title": "Hand-written", **session},
                       "team": {"roles": [{"name": "alice"}, {"name": "bob"}]}})


def event(seq, **fields) -> str:
    return json.dumps({"type": "event", "seq": seq, "kind": "message", "actor": "alice",
                       "payload": {"text": f"line {seq}"}, **fields})


@pytest.mark.django_db
def test_hand_written_transcript_imports_with_defaults(owner, tmp_path):
    path = tmp_path / "hand.jsonl"
    path.write_text("\n".join([header_line(), event(1), event(2, actor="bob", created_at="2025-01-02T03:04:05+01:00"),
                               event(3, kind="vote", payload={"vote": "A"})]) + "\n")
    imported = import_file(path)
    assert imported.title == "Hand-written" and imported.last_seq == 3 and imported.role_names() == ["alice", "bob"]
    assert imported.events.get(seq=2).created_at.isoformat() == "2025-01-02T02:04:05+00:00"
    again = export(imported.pk).splitlines()
    assert json.loads(again[0])["team"]["roles"][1]["name"] == "bob"
    assert json.loads(again[3])["payload"] == {"vote": "A"}


BAD_FILES = {
    "missing field": ([header_line(), event(1), json.dumps({"type": "event", "seq": 2, "kind": "message",
                                                            "payload": {}})], "line 3: missing field 'actor'"),
    "wrong type": ([header_line(), event(1), event("2")], "line 3: field 'seq' must be an integer, not str"),
    "payload type": ([header_line(), event(1, payload="hi")], "line 2: field 'payload' must be an object, not str"),
    "duplicate seq": ([header_line(), event(1), event(2), event(2)], "line 4: duplicate seq 2"),
    "missing seq": ([header_line(), event(1), event(2), event(4)], "line 4: seq 4 out of order; expected 3 (seq 3 is missing)"),
    "unknown kind": ([header_line(), event(1), event(2, kind="telepathy")], "line 3: unknown event kind 'telepathy'"),
    "bad date": ([header_line(), event(1, created_at="yesterday")], "line 2: field 'created_at' is not an ISO 8601 date"),
    "not json": ([header_line(), event(1), "{oops"], "line 3: not JSON"),
    "no header": ([event(1)], "line 1 (header): the first line must be the header"),
    "wrong schema": ([header_line().replace("collab.transcript", "other.tool"), event(1)], "schema must be 'collab.transcript'"),
    "nul byte": ([header_line(), event(1, payload={"text": "a\u0000b"})], "line 2: contains a NUL character"),
    "no events": ([header_line()], "no events"),
    "number as text": ([header_line(), event(1), event(2, payload={"text": 42})],
                       "line 3 payload: field 'text' must be a string, not int"),
    "vote reason": ([header_line(), event(1, kind="vote", payload={"vote": "A", "reason": ["x"]})],
                    "line 2 payload: field 'reason' must be a string or null, not list"),
    "action shape": ([header_line(), event(1, kind="action", payload={"action": "dig"})],
                     "line 2 payload: field 'action' must be an object or null, not str"),
    "plan step": ([header_line(), event(1, kind="plan", payload={"plan": {"steps": [{"text": 5}]}})],
                  "line 2 payload plan step 1: field 'text' must be a string, not int"),
    "plan diff": ([header_line(), event(1, kind="plan", payload={"plan": {"steps": []}, "diff": [{"op": "add"}]})],
                  "line 2 payload diff 1: missing field 'index'"),
    "tally shape": ([header_line(), event(1, kind="tally", payload={"tally": ["A", "B"]})],
                    "line 2 payload: field 'tally' must be an object, not list"),
    "scenario metrics": ([header_line(), event(1, kind="scenario_state", payload={"metrics": 3})],
                         "line 2 payload: field 'metrics' must be an object, not int"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_refused_naming_line_and_problem_and_write_nothing(owner, tmp_path, case):
    lines, problem = BAD_FILES[case]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    before = (Session.objects.count(), Event.objects.count(), Membership.objects.count())
    with pytest.raises(CommandError) as refused:
        import_file(path)
    assert problem in str(refused.value)
    assert (Session.objects.count(), Event.objects.count(), Membership.objects.count()) == before


@pytest.mark.django_db
def test_100_mb_of_junk_is_refused(tmp_path, owner):
    path = tmp_path / "junk.bin"
    with open(path, "wb") as out:
        for _ in range(100):
            out.write(os.urandom(1_000_000))
    with pytest.raises(CommandError) as refused:
        import_file(path)
    assert "the file is over 64 MB" in str(refused.value)
    assert not Session.objects.exclude(owner=owner).exists()


@pytest.mark.django_db
def test_junk_under_the_limit_names_its_first_bad_line(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b'{"type": "header"\xff\xfe' + os.urandom(50_000))
    with pytest.raises(CommandError, match="line 1: not UTF-8 text"):
        import_file(path)


@pytest.mark.django_db(transaction=True)
def test_download_and_upload_through_the_pages(client, owner, outsider, tmp_path):
    session = run_session(owner, title="Paged")
    client.force_login(owner)
    response = client.get(f"/research/sessions/{session.pk}/export/?format=jsonl")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.decode() == export(session.pk)
    csv_body = b"".join(client.get(f"/research/sessions/{session.pk}/export/?format=csv").streaming_content).decode()
    assert len(list(csv.reader(io.StringIO(csv_body)))) == session.last_seq + 1

    upload = io.BytesIO(body)
    upload.name = "paged.jsonl"
    response = client.post("/research/import/", {"file": upload})
    imported = Session.objects.latest("pk")
    assert response.status_code == 302 and imported.title == "Paged" and imported.pk != session.pk
    page = client.get(response["Location"]).content.decode()
    assert f"Imported {session.last_seq} events" in page

    bad = io.BytesIO(b'{"type":"header","schema":"collab.transcript","version":1,"session":{"title":"x"}}\n{"type":"event"}\n')
    bad.name = "bad.jsonl"
    count = Session.objects.count()
    page = client.post("/research/import/", {"file": bad}, follow=True).content.decode()
    assert "Not imported: line 2: missing field &#x27;seq&#x27;" in page and "Nothing was saved" in page
    assert Session.objects.count() == count

    client.force_login(outsider)
    assert client.get(f"/research/sessions/{session.pk}/export/").status_code == 404
