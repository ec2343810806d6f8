"""The coding page's script (static/js/code.js) in Chromium, on the paths
that went wrong: a refused or broken reply is shown and the queue goes on;
queued actions from another session are saved but drawn only there;
?seq=N, #u-N and #end open on their event; a chain of undos through a
replaced label; a, a, u on two suggestions of one event."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from playwright.sync_api import Page, expect

from collab.research import annotation
from collab.research.codebooks import codebook_save
from collab.research.models import Annotation, Coder, Reviewed
from collab.sessions import events as log

pytest.register_assert_rewrite("tests.browser")  # it is a plugin too: rewrite it before the import

from tests.browser import log_in  # noqa: E402
from tests.research_helpers import PAD_KINDS, run_session  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


def long_session(owner, title, *, odd_text=None, events=260):
    """A finished session; first an imported-looking message whose text is
    `odd_text` (not a string), then a realistic mix up to `events` events."""
    session = run_session(owner, title=title)
    with transaction.atomic():
        locked = log.lock_session(session.pk)
        entries = [{"kind": "message", "actor": "analyst", "payload": {"text": odd_text}}] if odd_text is not None else []
        entries += [PAD_KINDS[i % len(PAD_KINDS)] for i in range(events - locked.last_seq - len(entries))]
        log.append_many(locked, [{**e, "turn_index": 100 + i // 6} for i, e in enumerate(entries)])
    session.refresh_from_db()
    return session


def project_for(owner, sessions, *, multi=False, names=("one", "two", "three")):
    book = codebook_save(owner=owner, codebook=None, name="Book", multi_label=multi, labels=[
        {"name": n, "color": c} for n, c in zip(names, ("#dc2626", "#16a34a", "#2563eb"), strict=False)])
    project = annotation.project_create(owner=owner, name="Study", codebook=book, sessions=sessions)
    alice = User.objects.create_user("alice", password="alice-pass-123")
    seat = annotation.coder_add(project=project, by=owner, user=alice)
    return project, seat, list(book.labels.order_by("pk"))


def http_door_only(page: Page) -> None:
    """The page's coding socket is refused (as for a coder signed out), so every action takes the HTTP door."""
    page.route_web_socket(re.compile(r"/ws/research/projects/\d+/code/$"), lambda ws: ws.close(code=4403))


def codable(session):
    return list(session.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq").values_list("seq", flat=True))


def open_code(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-code-ready", "1")


def saved(page: Page) -> None:
    expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")


def chips(page: Page, seq: int):
    return page.locator(f"#u-{seq} .unit-labels .label-chip")


def test_replies_are_final_and_other_sessions_actions_draw_nothing_here(page, live_server_url, owner):
    base = live_server_url
    here, there = long_session(owner, "Here", odd_text=42), run_session(owner, title="There")
    project, seat, (one, two, _three) = project_for(owner, [here, there])
    odd = here.events.get(kind="message", payload__text=42).seq
    shared = next(s for s in codable(there) if s in codable(here)[:100] and s != odd)  # a seq on both pages
    url = f"{base}/research/projects/{project.pk}/code/{here.pk}/"
    queue = [
        {"op": "label", "session": there.pk, "seq": shared, "label": two.pk, "undoable": True},  # saved, not drawn
        {"op": "label", "session": here.pk, "seq": odd, "label": one.pk, "start": 0, "end": 1, "undoable": True},
        {"op": "review", "session": here.pk, "seq": odd, "note": "the server breaks on this one"},
        {"op": "label", "session": here.pk, "seq": odd, "label": two.pk, "undoable": True},
    ]

    def server_error_on_the_note(route):
        if (route.request.post_data_json or {}).get("note"):
            route.fulfill(status=500, content_type="text/html", body="<h1>Server Error (500)</h1>")
        else:
            route.continue_()

    page.route(f"{url.replace(f'code/{here.pk}/', 'annotate/')}", server_error_on_the_note)
    http_door_only(page)  # replies from the HTTP door: the socket's own are tested in test_research_coding_browser
    page.add_init_script("""window.__said = [];
        window.addEventListener('collab:saved', () => window.__said.push(document.getElementById('save-state').textContent));""")
    log_in(page, base, "alice", "alice-pass-123")
    page.goto(f"{base}/research/projects/{project.pk}/")
    page.evaluate("([key, queue]) => localStorage.setItem(key, JSON.stringify(queue))",
                  [f"collab-code-{project.pk}-{seat.pk}", queue])
    open_code(page, url)
    saved(page)
    said = page.evaluate("window.__said")
    assert said[1] == "Not saved: a span must lie inside the event's text (0 to 0 characters). " \
                      "Saving… 2 changes waiting", said
    assert said[2] == "Not saved: the server answered 500 Internal Server Error. Saving… 1 change waiting", said
    assert said[3] == "Not saved: the server answered 500 Internal Server Error", said  # seen until the next change
    expect(chips(page, odd)).to_have_text(["two"])
    expect(chips(page, shared)).to_have_count(0)  # the other session's label is not this event's
    assert page.evaluate(f"localStorage.getItem('collab-code-{project.pk}-{seat.pk}')") == "[]"
    assert set(Annotation.objects.values_list("session_id", "seq", "label_id")) == {
        (there.pk, shared, two.pk), (here.pk, odd, two.pk)}
    assert not Reviewed.objects.filter(session=here, seq=odd).exclude(note="").exists()
    # u undoes this page's last change, not the other session's
    page.keyboard.press("j")  # moves from the first unreviewed event; the odd one is reviewed now
    page.locator(f"#u-{odd}").click()
    page.keyboard.press("u")
    saved(page)
    expect(chips(page, odd)).to_have_count(0)
    assert list(Annotation.objects.values_list("session_id", "seq")) == [(there.pk, shared)]
    expect(page.locator("#save-state")).to_have_text("All changes saved.")


def test_links_open_on_their_event(page, live_server_url, owner):
    base = live_server_url
    session = long_session(owner, "Long", events=400)
    project, _seat, _labels = project_for(owner, [session])
    seqs = codable(session)
    assert len(seqs) > 200
    url = f"{base}/research/projects/{project.pk}/code/{session.pk}/"
    log_in(page, base, "alice", "alice-pass-123")
    for link, seq in ((f"?seq={seqs[250 % len(seqs)]}", seqs[250 % len(seqs)]), (f"?seq={seqs[40]}", seqs[40]),
                      (f"#u-{seqs[7]}", seqs[7]), ("?page=2#end", seqs[199])):
        open_code(page, url + link)
        expect(page.locator(".unit.is-current")).to_have_attribute("data-seq", str(seq))
        assert page.evaluate("document.activeElement.dataset.seq") == str(seq), link
        assert page.url.endswith(f"?seq={seq}#u-{seq}"), link


def test_undo_twice_through_a_replaced_label(page, live_server_url, owner):
    base = live_server_url
    session = run_session(owner, pad_to=20, title="Undo")
    project, _seat, (_one, two, three) = project_for(owner, [session])
    first = codable(session)[0]
    log_in(page, base, "alice", "alice-pass-123")
    open_code(page, f"{base}/research/projects/{project.pk}/code/{session.pk}/")
    expect(page.locator(".unit.is-current")).to_have_attribute("data-seq", str(first))
    for key, shown in (("2", ["two"]), ("3", ["three"]), ("u", ["two"]), ("Control+z", [])):
        page.keyboard.press(key)
        saved(page)
        expect(chips(page, first)).to_have_text(shown)
        assert [a.label.name for a in Annotation.objects.filter(seq=first)] == shown, key
    assert two.pk and three.pk


def test_every_suggestion_on_an_event_takes_a_verdict_and_undo_resets_it(page, live_server_url, owner):
    base = live_server_url
    session = run_session(owner, pad_to=20, title="Suggested")
    project, _seat, (one, two, three) = project_for(owner, [session], multi=True)
    model = Coder.objects.create(project=project, kind=Coder.Kind.MODEL, model_name="scripted")
    first = codable(session)[0]
    suggested = [Annotation.objects.create(coder=model, session=session, seq=first, label=label)
                 for label in (one, three)]
    url = f"{base}/research/projects/{project.pk}/code/{session.pk}/"
    log_in(page, base, "alice", "alice-pass-123")
    open_code(page, url)
    box = page.locator(f"#u-{first} .chip-suggestion")
    offered = ["model suggests: one (a accept, r reject)", "model suggests: three (a accept, r reject)"]
    expect(box).to_have_text(offered)
    page.keyboard.press("a")
    page.keyboard.press("a")
    saved(page)
    expect(box).to_have_text(["model suggests: one — accepted", "model suggests: three — accepted"])
    expect(chips(page, first)).to_have_text(["one", "three"])
    page.keyboard.press("u")  # the last accept is undone: its label goes and its suggestion is open again
    saved(page)
    expect(chips(page, first)).to_have_text(["one"])
    expect(box).to_have_text(["model suggests: one — accepted", offered[1]])
    verdicts = Reviewed.objects.get(coder__user__username="alice", seq=first).suggestion_verdicts
    assert verdicts == {str(suggested[0].pk): "accepted"}
    open_code(page, f"{url}?seq={first}")  # what the server kept is what the page shows
    expect(box).to_have_text(["model suggests: one — accepted", offered[1]])
    page.keyboard.press("r")
    saved(page)
    expect(box).to_have_text(["model suggests: one — accepted", "model suggests: three — rejected"])
    assert json.dumps(Reviewed.objects.get(coder__user__username="alice", seq=first).suggestion_verdicts,
                      sort_keys=True) == json.dumps({str(suggested[0].pk): "accepted",
                                                     str(suggested[1].pk): "rejected"}, sort_keys=True)
    assert sorted(Annotation.objects.filter(coder__user__username="alice").values_list("label__name", flat=True)) \
        == ["one"]
