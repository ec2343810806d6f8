"""The research workbench's rows for the authorization matrix
(tests/test_authz_matrix.py). The world's annotator codes in a project over
the world's session; the owner owns the project, its codebook and a model
coder's run. Everyone else has no part in the project."""

from tests.authz import Case, expect, session_members, signed_in


def project_world(w) -> None:
    """A project over the world's session, its codebook, the annotator as
    a coder, one finished model-coder run, and one event to point at."""
    if "project" in w.extra:
        return
    from collab.research import annotation
    from collab.research.codebooks import codebook_save
    from collab.research.models import CoderRun
    from collab.sessions import services

    owner = w.users["owner"]
    services.session_inject(session=w.session, user=owner, text="an event to code")
    book = codebook_save(owner=owner, codebook=None, name="Matrix codes", labels=[{"name": "A", "color": "#000000"}])
    project = annotation.project_create(owner=owner, name="Matrix project", codebook=book, sessions=[w.session])
    annotation.coder_add(project=project, by=owner, user=w.users["annotator"])
    model = project.coders.create(kind="model", model_name="matrix model")
    w.extra.update(project=project, codebook=book, run=CoderRun.objects.create(coder=model, status="done"))


def session_kw(w):
    return {"pk": w.session.pk}


def project_kw(w):
    return {"pk": w.extra["project"].pk}


def codebook_kw(w):
    return {"pk": w.extra["codebook"].pk}


def run_kw(w):
    return {"pk": w.extra["project"].pk, "run_pk": w.extra["run"].pk}


HIDDEN = "hidden"
OWNER_ONLY = expect(HIDDEN, anonymous="login", owner="ok")
CODERS = expect(HIDDEN, anonymous="login", owner="ok", annotator="ok")  # the project's owner and its coder

ROWS = {
    "research_home": [Case(signed_in())],
    "research_import": [Case(signed_in("refused: Choose a .jsonl file"), method="POST")],
    "session_export": [Case(OWNER_ONLY, kwargs=session_kw, prepare=project_world)],
    "session_replay": [Case(session_members(), kwargs=session_kw, prepare=project_world)],
    "replay_events": [Case(session_members(), kwargs=session_kw, query="?after=0", prepare=project_world)],
    "event_calls": [Case(session_members(participant=HIDDEN), kwargs=lambda w: {"pk": w.session.pk, "seq": 1},
                         prepare=project_world, label="a seat holder sees only its role's prompts")],
    "codebook_new": [Case(signed_in())],
    "codebook_import": [Case(signed_in("refused: Codebook not imported"), method="POST")],
    "codebook_detail": [Case(CODERS, kwargs=codebook_kw, prepare=project_world)],
    "codebook_edit": [Case(OWNER_ONLY, kwargs=codebook_kw, prepare=project_world)],
    "codebook_copy": [Case(CODERS, method="POST", kwargs=codebook_kw, prepare=project_world)],
    "codebook_export": [Case(CODERS, kwargs=codebook_kw, prepare=project_world)],
    "project_new": [Case(signed_in())],
    "project_join": [Case(signed_in(), kwargs=lambda w: {"token": w.extra["project"].invite_token},
                          prepare=project_world, label="the link is the invitation")],
    "project_detail": [Case(CODERS, kwargs=project_kw, prepare=project_world)],
    "project_coder_add": [Case(expect(HIDDEN, anonymous="login", owner="refused: Not added"), method="POST",
                               kwargs=project_kw, prepare=project_world)],
    "project_reveal": [Case(OWNER_ONLY, method="POST", kwargs=project_kw, prepare=project_world)],
    "project_code": [Case(CODERS, kwargs=lambda w: {"pk": w.extra["project"].pk, "session_pk": w.session.pk},
                          prepare=project_world)],
    "project_annotate": [Case(expect(HIDDEN, anonymous="login", owner="status 400", annotator="status 400"),
                              method="POST", kwargs=project_kw, prepare=project_world,
                              label="an empty body is refused by the open door")],
    "project_adjudicate": [Case(OWNER_ONLY, kwargs=project_kw, prepare=project_world)],
    "project_agreement": [Case(OWNER_ONLY, kwargs=project_kw, prepare=project_world)],
    "project_export": [Case(OWNER_ONLY, kwargs=project_kw, prepare=project_world)],
    "coder_run_start": [Case(OWNER_ONLY, method="POST", kwargs=project_kw, prepare=project_world)],
    "coder_run_status": [Case(OWNER_ONLY, kwargs=run_kw, prepare=project_world)],
    "coder_run_cancel": [Case(OWNER_ONLY, method="POST", kwargs=run_kw, prepare=project_world)],
    "coder_run_calls": [Case(OWNER_ONLY, kwargs=run_kw, prepare=project_world)],
}
