"""Every research URL against every kind of visitor: the project's owner, an
annotator assigned to it, an annotator of another project, an outsider and
an anonymous visitor. A new URL without a row here fails the last test."""

import pytest
from django.contrib.auth.models import User
from django.urls import get_resolver

from collab.research import annotation
from collab.research.codebooks import codebook_save
from collab.research.models import CoderRun
from collab.sessions import services
from tests.engine_helpers import make_team

OK, NO, LOGIN = "ok", "no", "login"
WHO = ["owner", "assigned", "unassigned", "outsider", "anonymous"]


@pytest.fixture
def world(db, owner):
    session = services.session_create(owner=owner, team=make_team(owner))
    services.session_inject(session=session, user=owner, text="hello")
    book = codebook_save(owner=owner, codebook=None, name="Codes", labels=[{"name": "A", "color": "#000000"}])
    project = annotation.project_create(owner=owner, name="P", codebook=book, sessions=[session])
    assigned = User.objects.create_user("assigned")
    annotation.coder_add(project=project, by=owner, user=assigned)
    other_owner = User.objects.create_user("other-owner")
    other_session = services.session_create(owner=other_owner, team=make_team(other_owner, name="Other"))
    other_book = codebook_save(owner=other_owner, codebook=None, name="Other", labels=[{"name": "B", "color": "#000000"}])
    other = annotation.project_create(owner=other_owner, name="Other", codebook=other_book, sessions=[other_session])
    unassigned = User.objects.create_user("unassigned")
    annotation.coder_add(project=other, by=other_owner, user=unassigned)
    run = CoderRun.objects.create(coder=project.coders.create(kind="model", model_name="m"), status="done")
    users = {"owner": owner, "assigned": assigned, "unassigned": unassigned,
             "outsider": User.objects.create_user("outsider2"), "anonymous": None}
    return {"session": session, "project": project, "book": book, "run": run, "users": users}


def routes(w):
    s, p, b, r = w["session"].pk, w["project"].pk, w["book"].pk, w["run"].pk
    everyone = [OK, OK, OK, OK, LOGIN]
    session_readers = [OK, OK, NO, NO, LOGIN]
    owner_only = [OK, NO, NO, NO, LOGIN]
    return {
        "research_home": ("get", "/research/", everyone),
        "research_import": ("post", "/research/import/", everyone),
        "session_export": ("get", f"/research/sessions/{s}/export/", owner_only),
        "session_replay": ("get", f"/research/sessions/{s}/replay/", session_readers),
        "replay_events": ("get", f"/research/sessions/{s}/replay/events/?after=0", session_readers),
        "event_calls": ("get", f"/research/sessions/{s}/events/1/calls/", session_readers),
        "codebook_new": ("get", "/research/codebooks/new/", everyone),
        "codebook_import": ("post", "/research/codebooks/import/", everyone),
        "codebook_detail": ("get", f"/research/codebooks/{b}/", session_readers),
        "codebook_edit": ("get", f"/research/codebooks/{b}/edit/", owner_only),
        "codebook_copy": ("post", f"/research/codebooks/{b}/copy/", session_readers),
        "codebook_export": ("get", f"/research/codebooks/{b}/export/", session_readers),
        "project_new": ("get", "/research/projects/new/", everyone),
        "project_join": ("get", f"/research/projects/join/{w['project'].invite_token}/", everyone),
        "project_detail": ("get", f"/research/projects/{p}/", session_readers),
        "project_coder_add": ("post", f"/research/projects/{p}/coders/", owner_only),
        "project_coder_remove": ("post", f"/research/projects/{p}/coders/remove/", owner_only),
        "project_sessions_add": ("get", f"/research/projects/{p}/sessions/add/", owner_only),
        "project_session_remove": ("post", f"/research/projects/{p}/sessions/remove/", owner_only),
        "project_reveal": ("post", f"/research/projects/{p}/reveal/", owner_only),
        "project_code": ("get", f"/research/projects/{p}/code/{s}/", session_readers),
        "project_annotate": ("post", f"/research/projects/{p}/annotate/", session_readers),
        "project_adjudicate": ("get", f"/research/projects/{p}/adjudicate/", owner_only),
        "project_agreement": ("get", f"/research/projects/{p}/agreement/", owner_only),
        "project_export": ("get", f"/research/projects/{p}/export/", owner_only),
        "coder_run_start": ("post", f"/research/projects/{p}/coder/", owner_only),
        "coder_run_status": ("get", f"/research/projects/{p}/coder/{r}/", owner_only),
        "coder_run_cancel": ("post", f"/research/projects/{p}/coder/{r}/cancel/", owner_only),
        "coder_run_calls": ("get", f"/research/projects/{p}/coder/{r}/calls/", owner_only),
        "project_leave": ("post", f"/research/projects/{p}/leave/", session_readers),  # last: the coder is gone after
    }


def outcome(response) -> str:
    if response.status_code == 302 and response["Location"].startswith("/accounts/login/"):
        return LOGIN
    if response.status_code in (403, 404):
        return NO
    assert response.status_code in (200, 302, 400), response.status_code  # 400: the door answered a bad body
    return OK


@pytest.mark.parametrize("who", WHO)
def test_every_research_url_checks_who_asks(client, world, who, monkeypatch):
    from collab.research import coder

    monkeypatch.setattr(coder, "_enqueue", lambda run_id, profile_id: None)  # no worker here: only the door
    user = world["users"][who]
    if user:
        client.force_login(user)
    wrong = []
    for name, (method, url, expected) in routes(world).items():
        got = outcome(getattr(client, method)(url))
        if got != expected[WHO.index(who)]:
            wrong.append(f"{name} {url}: {who} got {got}, expected {expected[WHO.index(who)]}")
    assert not wrong, "\n".join(wrong)


def test_every_research_url_is_in_the_table(world):
    include = next(p for p in get_resolver().url_patterns if str(p.pattern) == "research/")
    assert {p.name for p in include.url_patterns} == set(routes(world))
