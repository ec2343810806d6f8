"""In Chromium, during a Redis outage: the session page still loads, says
"Live updates paused", keeps retrying, and the notice goes away by itself once
Redis is back. daphne runs on a redis-server of this test's own."""

import pytest
from playwright.sync_api import expect

pytest.register_assert_rewrite("tests.browser")

from collab.sessions import services  # noqa: E402
from tests import procs  # noqa: E402
from tests.browser import log_in, wait_connected  # noqa: E402
from tests.engine_helpers import make_team  # noqa: E402
from tests.test_redis_outage import OwnRedis  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


@pytest.fixture
def daphne_on_own_redis():
    server = OwnRedis()
    server.start()
    proc, url = procs.start_daphne(REDIS_URL=server.url)
    yield server, url
    proc.stop()
    server.kill()


def test_the_page_says_live_updates_are_paused_and_recovers(page, owner, daphne_on_own_redis):
    redis_server, base = daphne_on_own_redis
    session = services.session_create(owner=owner, team=make_team(owner), provider="scripted")
    page.context.add_init_script("""
        window.__ws = [];
        document.addEventListener("htmx:wsOpen", () => window.__ws.push("open"));
        document.addEventListener("htmx:wsClose", (e) => window.__ws.push("close " + e.detail.event.code));
    """)
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/sessions/{session.pk}/")
    wait_connected(page)
    notice = page.locator("#live-status")
    expect(notice).to_be_empty()

    redis_server.kill()
    response = page.reload()
    assert response.status == 200  # the page itself needs no Redis
    expect(notice).to_contain_text("Live updates paused", timeout=15_000)
    expect(notice).to_contain_text("retrying")
    page.shots("live-updates-paused")
    assert "close 4503" in page.evaluate("window.__ws")

    redis_server.start()
    expect(notice).to_be_empty(timeout=45_000)  # the page reconnected by itself...
    page.wait_for_function("window.__ws[window.__ws.length - 1] === 'open'", timeout=45_000)
    page.wait_for_timeout(3000)
    assert page.evaluate("window.__ws")[-1] == "open"  # ...and the socket stays open
    expect(notice).to_be_empty()
    page.shots("live-updates-back")
