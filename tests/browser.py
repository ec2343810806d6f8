"""Fixtures and helpers for the browser tests: daphne serving the app on the
test database, a slow scripted worker (so streaming is visible), and Debian's
Chromium driven by Playwright's sync API. Never downloads a browser."""

import os
import re
import time
import warnings
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests import procs

SCREENSHOTS = procs.ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SLOW_TPS = "15"  # scripted tokens per second: slow enough to watch a reply being typed


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, django_db_blocker):
    """daphne serving the whole app (HTTP and the socket) on the test database."""
    with django_db_blocker.unblock():
        proc, url = procs.start_daphne()
    yield url
    proc.stop()


@pytest.fixture(scope="module")
def slow_worker(workers, django_db_blocker):
    """The suite's worker is stopped (it would take tasks too) and a slow one
    runs this module's sessions; the next test's `worker` fixture restarts the
    normal one."""
    with django_db_blocker.unblock():
        workers.stop()
        proc = procs.start_worker("browser", COLLAB_SCRIPTED_TPS=SLOW_TPS)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def async_unsafe_ok(live_server_url, slow_worker):
    """Playwright's sync API marks its event loop as running between calls, so
    Django refuses ORM calls in the test (and in pytest-django's flush after
    it). Allowed for this module only, and set after daphne and the worker
    started, so they still run with Django's check."""
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if old is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


@pytest.fixture(scope="module")
def chromium(async_unsafe_ok):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Problems:
    """What the page reported: uncaught exceptions and console errors."""

    def __init__(self, page: Page):
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    pg.problems = Problems(pg)
    pg.shots = Shots(pg, request.node.name)
    yield pg
    context.close()
    if pg.problems.console_errors:
        log = procs.ROOT / "tests" / "artifacts" / "logs" / f"browser-console-{pg.shots.prefix}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("\n".join(pg.problems.console_errors) + "\n")
    assert not pg.problems.page_errors, f"uncaught errors in the page: {pg.problems.page_errors}"


class Shots:
    def __init__(self, page: Page, test_name: str):
        self.page = page
        self.prefix = re.sub(r"[^A-Za-z0-9_-]", "_", test_name.removeprefix("test_"))
        self.n = 0

    def __call__(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.n += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.n:02d}-{step}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar shows mid-page in a full-page shot
        try:
            # A screenshot is an artifact for people, not an assertion: a slow
            # capture on a loaded machine must not fail the behaviour under test.
            self.page.screenshot(path=str(path), full_page=True, timeout=60_000)
        except PlaywrightTimeoutError:
            warnings.warn(f"screenshot {path.name} timed out", stacklevel=2)
        return path


@pytest.fixture
def settle(db):
    """After each test: stop the sessions still live and wait until no worker
    holds a turn, so the database flush does not race a running turn."""
    yield
    from collab.sessions import services
    from collab.sessions.models import Session

    for session in Session.objects.filter(status__in=["running", "paused", "awaiting_human"]):
        try:
            services.session_stop(session=session, user=session.owner)
        except Exception:  # noqa: BLE001 - best effort; the session may just have finished
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Session.objects.exclude(lease_token="").exists():
        time.sleep(0.1)


# --- page helpers -----------------------------------------------------------------


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1.page-title")).to_have_text(f"Hello, {username}")


def session_id_from(page: Page) -> int:
    match = re.search(r"/sessions/(\d+)/", page.url)
    assert match, f"not on a session page: {page.url}"
    return int(match.group(1))


def wait_connected(page: Page) -> None:
    """The socket is up once the server has sent the presence list."""
    expect(page.locator("#presence li:not(.empty)")).not_to_have_count(0)


def status_of(page: Page) -> str:
    return page.locator("#session-status").get_attribute("data-status")


def expect_status(page: Page, *statuses: str, timeout: float = 30_000) -> str:
    pattern = re.compile("^(" + "|".join(map(re.escape, statuses)) + ")$")
    expect(page.locator("#session-status")).to_have_attribute("data-status", pattern, timeout=timeout)
    return status_of(page)


def stream_events(page: Page) -> list[dict]:
    return page.eval_on_selector_all(
        "#stream article[id^=ev-]",
        "els => els.map(e => ({id: e.id, seq: Number(e.dataset.seq), text: e.innerText,"
        " who: (e.querySelector('.msg-who') || {}).innerText || ''}))")


def agent_messages(page: Page, roles: list[str]) -> list[dict]:
    return [e for e in stream_events(page) if e["who"] in roles]


def wait_for_event(page: Page, predicate, what: str, timeout: float = 30.0) -> dict:
    """Poll the rendered stream until an event article satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while True:
        for event in stream_events(page):
            if predicate(event):
                return event
        if time.monotonic() > deadline:
            raise AssertionError(f"no event in the stream is {what} after {timeout} s; "
                                 f"stream: {[e['text'][:80] for e in stream_events(page)]}")
        page.wait_for_timeout(100)
