"""The research workbench's rows of the authorization matrix.

The world's owner owns the session, a codebook and an annotation project over
the session; the world's annotator is the project's human coder (so the
annotator capacity they hold comes from the project, as in real use). The
observer and participant are members of the session but not coders: they see
the session's replay, not the project. A model coder's finished run belongs to
the project. Outcomes follow collab/research/permissions.py and
tests/test_research_permissions.py."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from collab.research import annotation, codebooks, selectors
from collab.research.models import CoderRun
from collab.sessions import events as log
from collab.sessions import services as session_services
from collab.teams.models import ModelProfile
from tests.authz import Case, SocketCase, World, expect, signed_in
from tests.engine_helpers import make_team

# Who may read the session: its members; the project and codebook: the owner and the project's coder.
SESSION_READERS = expect("ok", anonymous="login", unrelated="hidden", staff="hidden")
PROJECT_READERS = expect("hidden", anonymous="login", owner="ok", annotator="ok")
OWNER_ONLY = expect("hidden", anonymous="login", owner="ok")

def project(w: World) -> None:
    """A codable message at seq 1, the owner's codebook and project, the annotator as coder, a finished model run."""
    owner = w.users["owner"]
    with transaction.atomic():
        log.append_many(log.lock_session(w.session.pk),
                        [{"kind": "message", "actor": "coder", "payload": {"text": "We ship on Friday."}}])
    book = codebooks.codebook_save(owner=owner, codebook=None, name="Moves",
                                   labels=[{"name": "Proposal", "color": "#336699"}])
    proj = annotation.project_create(owner=owner, name="Moves in the trio", codebook=book, sessions=[w.session])
    annotation.coder_add(project=proj, by=owner, user=w.users["annotator"])
    run = CoderRun.objects.create(coder=proj.coders.create(kind="model", model_name="scripted"), status="done")
    w.extra.update(book=book, project=proj, run=run)

def owner_has_a_second_session(w: World) -> None:
    project(w)
    w.extra["second"] = session_services.session_create(owner=w.users["owner"], team=w.team, title="Second")

def second_session_in_project(w: World) -> None:
    owner_has_a_second_session(w)
    annotation.project_sessions_add(project=w.extra["project"], by=w.users["owner"], session_ids=[w.extra["second"].pk])

def unrelated_has_a_session(w: World) -> None:
    project(w)
    unrelated = w.users["unrelated"]
    w.extra["theirs"] = session_services.session_create(owner=unrelated, team=make_team(unrelated), title="Theirs")

def unrelated_has_a_profile(w: World) -> None:
    project(w)
    w.extra["profile"] = ModelProfile.objects.create(
        owner=w.users["unrelated"], name="Unrelated's private model", provider="openai",
        base_url="http://127.0.0.1:9/v1", model="theirs")


def _p(w: World) -> dict:
    return {"pk": w.extra["project"].pk}

def _b(w: World) -> dict:
    return {"pk": w.extra["book"].pk}

def _annotator_seat(w: World) -> dict:
    return {"coder": w.extra["project"].coders.get(user=w.users["annotator"]).pk}

def _run(w: World) -> dict:
    return {"pk": w.extra["project"].pk, "run_pk": w.extra["run"].pk}

def _transcript(w: World) -> dict:
    text = "".join(selectors.export_chunks(w.session, format="jsonl", annotations=False))
    return {"file": SimpleUploadedFile("session.jsonl", text.encode(), content_type="application/x-ndjson")}

def _codebook_file(w: World) -> dict:
    body = json.dumps(codebooks.codebook_json(w.extra["book"])).encode()
    return {"file": SimpleUploadedFile("codebook.json", body, content_type="application/json")}

def _label_event(w: World) -> str:
    label = w.extra["book"].labels.get()
    return json.dumps({"op": "label", "session": w.session.pk, "seq": 1, "label": label.pk})

ROWS: dict[str, list[Case]] = {
    "research_home": [Case(signed_in())],
    # Anyone signed in imports a transcript: it becomes a session of their own.
    "research_import": [Case(signed_in(), "POST", data=_transcript, prepare=project),
                        Case(signed_in("refused: Choose a .jsonl file"), "POST", label="no file")],
    "session_export": [Case(OWNER_ONLY, kwargs=lambda w: {"pk": w.session.pk})],
    "session_replay": [Case(SESSION_READERS, kwargs=lambda w: {"pk": w.session.pk})],
    "replay_events": [Case(SESSION_READERS, kwargs=lambda w: {"pk": w.session.pk}, query="?after=0")],
    # The model's prompts and replies: for members who see everything, not for a seated player.
    "event_calls": [Case(expect("hidden", anonymous="login", owner="ok", observer="ok", annotator="ok"),
                         kwargs=lambda w: {"pk": w.session.pk, "seq": 1}, prepare=project)],
    "codebook_new": [Case(signed_in())],
    "codebook_import": [Case(signed_in(), "POST", data=_codebook_file, prepare=project)],
    "codebook_detail": [Case(PROJECT_READERS, kwargs=_b, prepare=project)],
    "codebook_edit": [Case(OWNER_ONLY, kwargs=_b, prepare=project),
                      Case(OWNER_ONLY, "POST", kwargs=_b, prepare=project, label="save",
                           data=lambda w: {"name": "Moves v2", "label-0-name": "Proposal", "label-0-color": "#336699"})],
    "codebook_copy": [Case(PROJECT_READERS, "POST", kwargs=_b, prepare=project)],
    "codebook_export": [Case(PROJECT_READERS, kwargs=_b, prepare=project)],
    "project_new": [Case(signed_in())],
    # The invite link is the way in: anyone signed in may join as a coder; the owner adjudicates instead.
    "project_join": [Case(signed_in(), kwargs=lambda w: {"token": w.extra["project"].invite_token}, prepare=project),
                     Case(signed_in(owner="refused: the owner adjudicates"), "POST", label="join",
                          kwargs=lambda w: {"token": w.extra["project"].invite_token}, prepare=project)],
    "project_detail": [Case(PROJECT_READERS, kwargs=_p, prepare=project)],
    "project_coder_add": [Case(OWNER_ONLY, "POST", kwargs=_p, prepare=project,
                               data=lambda w: {"username": "participant"})],
    # Removing a coder or a session, adding sessions: the owner's, refused with a message on bad input.
    "project_coder_remove": [Case(OWNER_ONLY, "POST", kwargs=_p, prepare=project, data=_annotator_seat),
                             Case({**OWNER_ONLY, "owner": "refused: the coder contains a NUL character"},
                                  "POST", kwargs=_p, prepare=project, data=lambda w: {"coder": "1\x00"}, label="NUL byte"),
                             Case({**OWNER_ONLY, "owner": "refused: that coder is not in this project"}, "POST",
                                  kwargs=_p, prepare=project, data=lambda w: {"coder": "999999"}, label="not a coder")],
    # A coder leaves their own seat; the owner has none to leave.
    "project_leave": [Case({**PROJECT_READERS, "owner": "refused: you own this project"}, "POST", kwargs=_p,
                           prepare=project)],
    "project_sessions_add": [Case(OWNER_ONLY, kwargs=_p, prepare=project),
                             Case(OWNER_ONLY, "POST", kwargs=_p, prepare=owner_has_a_second_session, label="add",
                                  data=lambda w: {"sessions": [w.extra["second"].pk]}),
                             Case({**OWNER_ONLY, "owner": "status 400"}, "POST", kwargs=_p, prepare=unrelated_has_a_session,
                                  label="someone else's session", data=lambda w: {"sessions": [w.extra["theirs"].pk]})],
    "project_session_remove": [Case(OWNER_ONLY, "POST", kwargs=_p, prepare=second_session_in_project,
                                    data=lambda w: {"session": w.session.pk}),
                               Case({**OWNER_ONLY, "owner": "refused: at least one session"}, "POST", kwargs=_p,
                                    prepare=project, label="the last one", data=lambda w: {"session": w.session.pk})],
    "project_reveal": [Case(OWNER_ONLY, "POST", kwargs=_p, prepare=project, data=lambda w: {"revealed": "1"})],
    "project_code": [Case(PROJECT_READERS, kwargs=lambda w: {"pk": w.extra["project"].pk, "session_pk": w.session.pk},
                          prepare=project)],
    # The owner passes the door but codes nothing (they adjudicate): the action is refused with a 400.
    "project_annotate": [Case(expect("hidden", anonymous="login", owner="status 400", annotator="ok"), "POST",
                              kwargs=_p, prepare=project, data=_label_event, content_type="application/json")],
    "project_adjudicate": [Case(OWNER_ONLY, kwargs=_p, prepare=project)],
    "project_agreement": [Case(OWNER_ONLY, kwargs=_p, prepare=project)],
    "project_export": [Case(OWNER_ONLY, kwargs=_p, prepare=project)],
    # Queued on commit: the matrix's transaction never commits, so no worker is needed at the door.
    "coder_run_start": [Case(OWNER_ONLY, "POST", kwargs=_p, prepare=project),
                        Case({**OWNER_ONLY, "owner": "refused: choose one of your model profiles"}, "POST",
                             kwargs=_p, prepare=unrelated_has_a_profile, label="another user's private profile",
                             data=lambda w: {"profile": w.extra["profile"].pk})],
    "coder_run_status": [Case(OWNER_ONLY, kwargs=_run, prepare=project)],
    "coder_run_cancel": [Case(OWNER_ONLY, "POST", kwargs=_run, prepare=project)],
    "coder_run_calls": [Case(OWNER_ONLY, kwargs=_run, prepare=project)],
}


# --- the coding page's socket: coders only; checked on connect and before every action --------------------

def _coding(w: World) -> str:
    return f"/ws/research/projects/{w.extra['project'].pk}/code/"

def coding_answer(frames: list[str]) -> str:
    """The socket answers an action by id: a result, or an error that names the refusal."""
    for frame in frames:
        reply = json.loads(frame)
        if reply.get("id") == 1:
            return "ok" if "result" in reply else f"refused: {reply['error']}"
    return "no answer"

def annotator_removed(w: World) -> None:
    project = w.extra["project"]
    annotation.coder_remove(project=project, by=w.users["owner"],
                            coder_id=project.coders.get(user=w.users["annotator"]).pk)

def project_and_frame(w: World) -> None:
    """The project, and the label action the socket is sent (frames are built where no query may run)."""
    project(w)
    w.extra["frame"] = {"id": 1, "action": json.loads(_label_event(w))}

CODERS_ONLY = expect("closed", annotator="ok")

SOCKETS: dict[str, list[SocketCase]] = {
    "ws/research/projects/<int:project_id>/code/": [
        SocketCase(CODERS_ONLY, _coding, coding_answer, prepare=project, label="connect"),
        SocketCase(CODERS_ONLY, _coding, coding_answer, prepare=project_and_frame, label="label an event",
                   frame=lambda w: w.extra["frame"]),
        SocketCase({**CODERS_ONLY, "annotator": "refused: you are signed out or no longer a coder"}, _coding,
                   coding_answer, prepare=project_and_frame, after_connect=annotator_removed,
                   label="coder removed, then label", frame=lambda w: w.extra["frame"]),
    ],
}
