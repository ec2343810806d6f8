"""The coding page over its socket, in Chromium: keypresses are saved over
the socket (no request to the HTTP door); an action the socket drops
unanswered is sent again by the door and saved once; the socket comes back;
a refusal over the socket is shown like the door's, and the page goes on by
the door."""

import re

import pytest
from playwright.sync_api import Page, expect

from collab.research import annotation
from collab.research.models import Annotation

pytest.register_assert_rewrite("tests.browser")  # it is a plugin too: rewrite it before the import

from tests.browser import log_in  # noqa: E402
from tests.research_helpers import run_session  # noqa: E402
from tests.test_research_code_browser import chips, codable, open_code, project_for, saved  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]

CODING_SOCKET = re.compile(r"/ws/research/projects/\d+/code/$")


def door_posts(page: Page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if r.url.endswith("/annotate/") else None)
    return posts


def socket_open(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-code-socket", "open")


def test_keypresses_are_saved_over_the_socket(page, live_server_url, owner):
    session = run_session(owner, title="Socket keys")
    project, seat, (one, two, _three) = project_for(owner, [session], multi=True)
    seqs = codable(session)
    log_in(page, live_server_url, "alice", "alice-pass-123")
    posts = door_posts(page)
    open_code(page, f"{live_server_url}/research/projects/{project.pk}/code/{session.pk}/")
    socket_open(page)
    page.keyboard.press("1")
    page.keyboard.press("2")
    saved(page)
    page.keyboard.press("j")
    page.keyboard.press("2")
    saved(page)
    page.keyboard.press("u")  # undo takes the last label off again
    saved(page)
    expect(chips(page, seqs[0])).to_have_text(["one", "two"])
    expect(chips(page, seqs[1])).to_have_count(0)
    expect(page.locator("#save-state")).to_have_text("All changes saved.")
    assert sorted(Annotation.objects.filter(coder=seat).values_list("seq", "label_id")) == [
        (seqs[0], one.pk), (seqs[0], two.pk)]
    assert posts == []


@pytest.mark.parametrize("lost", ["before the server", "after the server saved it"])
def test_an_action_the_socket_drops_is_sent_again_by_the_door_and_saved_once(page, live_server_url, owner, lost):
    """The first socket closes with the first action unanswered, either before the action reached
    the server or after the server saved it (the answer lost): the page sends it again by the door,
    which answers from the action's receipt in the second case, so the label is on, once."""
    session = run_session(owner, title=f"Dropped {lost}")
    project, seat, (one, _two, _three) = project_for(owner, [session])
    seqs = codable(session)
    connections = []

    def first_socket_drops_its_first_action(ws):
        server = ws.connect_to_server()
        connections.append(ws)
        first = len(connections) == 1

        def from_page(message):
            if first and lost == "before the server":
                server.close()
                ws.close(code=1011)
            else:
                server.send(message)

        def from_server(message):
            if first:  # saved, and the answer never reaches the page
                server.close()
                ws.close(code=1011)
            else:
                ws.send(message)
        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(CODING_SOCKET, first_socket_drops_its_first_action)
    log_in(page, live_server_url, "alice", "alice-pass-123")
    posts = door_posts(page)
    open_code(page, f"{live_server_url}/research/projects/{project.pk}/code/{session.pk}/")
    socket_open(page)
    page.keyboard.press("1")
    saved(page)
    expect(chips(page, seqs[0])).to_have_text(["one"])
    assert len(posts) == 1 and '"label"' in posts[0]  # the door carried it while the socket was down
    assert list(Annotation.objects.filter(coder=seat).values_list("seq", "label_id")) == [(seqs[0], one.pk)]
    socket_open(page)  # opened again after a moment
    assert len(connections) == 2
    page.keyboard.press("j")
    page.keyboard.press("1")
    saved(page)
    expect(chips(page, seqs[1])).to_have_text(["one"])
    assert len(posts) == 1  # back on the socket
    assert Annotation.objects.filter(coder=seat).count() == 2


def test_a_refusal_over_the_socket_is_shown_and_the_page_goes_on_by_the_door(page, live_server_url, owner):
    session = run_session(owner, title="Removed")
    project, seat, _labels = project_for(owner, [session])
    log_in(page, live_server_url, "alice", "alice-pass-123")
    posts = door_posts(page)
    open_code(page, f"{live_server_url}/research/projects/{project.pk}/code/{session.pk}/")
    socket_open(page)
    annotation.coder_remove(project=project, by=owner, coder_id=seat.pk)
    page.keyboard.press("1")
    saved(page)
    expect(page.locator("#save-state")).to_have_text(
        "Not saved: you are signed out or no longer a coder on this project; reload the page")
    expect(page.locator("body")).to_have_attribute("data-code-socket", "refused")
    page.keyboard.press("2")  # the socket is not opened again after a refusal: the door answers, and refuses too
    saved(page)
    expect(page.locator("#save-state")).to_have_text(re.compile(r"^Not saved: the server answered 404"))
    assert len(posts) == 1
    assert not Annotation.objects.exists()


def test_saving_is_shown_only_for_a_change_that_waits(page, live_server_url, owner):
    """A change saved at once never flashes "Saving…"; one that waits (here the door, slowed, while the
    socket is refused) shows it after a moment, then "All changes saved." when it is."""
    session = run_session(owner, title="Saving")
    project, seat, (one, _two, _three) = project_for(owner, [session])
    seqs = codable(session)
    page.add_init_script("""window.__texts = [];
        document.addEventListener('DOMContentLoaded', () => {
            const state = document.getElementById('save-state');
            if (state) new MutationObserver(() => window.__texts.push(state.textContent))
                .observe(state, {childList: true, characterData: true, subtree: true});
        });""")
    log_in(page, live_server_url, "alice", "alice-pass-123")
    url = f"{live_server_url}/research/projects/{project.pk}/code/{session.pk}/"
    open_code(page, url)
    socket_open(page)
    page.keyboard.press("1")
    saved(page)
    page.wait_for_timeout(600)  # past the moment a waiting change would be announced
    assert not any(t.startswith("Saving") for t in page.evaluate("window.__texts")), page.evaluate("window.__texts")

    def slow_door(route):
        page.wait_for_timeout(1500)
        route.continue_()

    page.route_web_socket(CODING_SOCKET, lambda ws: ws.close(code=4403))
    page.route(re.compile(r"/annotate/$"), slow_door)
    open_code(page, url)
    expect(page.locator("body")).to_have_attribute("data-code-socket", "refused")
    page.keyboard.press("1")  # on the first event not yet reviewed: the second
    expect(page.locator("#save-state")).to_have_text("Saving… 1 change waiting")
    saved(page)
    expect(page.locator("#save-state")).to_have_text("All changes saved.")
    assert sorted(Annotation.objects.filter(coder=seat).values_list("seq", "label_id")) == [
        (seqs[0], one.pk), (seqs[1], one.pk)]
