"""The replay in Chromium: quick steps all count, even while a chunk is
being fetched; the scrubber's marks are reachable from the keyboard. And the
codebook form's Add label button."""

import re

import pytest
from playwright.sync_api import expect

pytest.register_assert_rewrite("tests.browser")  # it is a plugin too: rewrite it before the import

from tests.browser import log_in  # noqa: E402
from tests.research_helpers import run_session  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


def slow_chunks(page, ms: int = 400) -> None:
    """Hold every chunk fetch a while, so steps arrive while one is out."""
    def hold(route):
        page.wait_for_timeout(ms)
        route.continue_()
    page.route(re.compile(r"/replay/events/"), hold)


def test_quick_steps_all_count_while_fetching(page, live_server_url, owner):
    base = live_server_url
    session = run_session(owner, pad_to=420, title="Replayed")
    log_in(page, base, "owner", "owner-pass-123")

    # From 0 the window is empty: the first step fetches, the next four arrive meanwhile.
    page.goto(f"{base}/research/sessions/{session.pk}/replay/?at=0")
    expect(page.locator("#replay")).to_have_attribute("data-ready", "1")
    slow_chunks(page)
    for _ in range(5):
        page.click("#replay-forward")
    expect(page.locator("#replay-at")).to_have_text("5")
    expect(page.locator("#ev-5")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?at=5$"))

    # At the edge of the loaded window (it ends at 300): five → presses reach 305.
    page.goto(f"{base}/research/sessions/{session.pk}/replay/?at=300")
    expect(page.locator("#replay")).to_have_attribute("data-ready", "1")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#replay-at")).to_have_text("305")
    expect(page.locator("#ev-305")).to_be_visible()
    expect(page.locator("#ev-306")).to_be_hidden()
    # And back, past the window's start, then forward again: every press counts.
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    expect(page.locator("#replay-at")).to_have_text("302")


def test_scrubber_marks_take_the_keyboard(page, live_server_url, owner):
    base = live_server_url
    session = run_session(owner, pad_to=120, title="Marked")
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/research/sessions/{session.pk}/replay/?at=1")
    expect(page.locator("#replay")).to_have_attribute("data-ready", "1")
    marks = page.locator(".scrubber-marks .mark")
    seqs = [int(s) for s in marks.evaluate_all("ms => ms.map(m => m.dataset.seq)")]
    assert len(seqs) > 3 and seqs == sorted(seqs)

    page.keyboard.press("]")
    expect(page.locator("#replay-at")).to_have_text(str(next(s for s in seqs if s > 1)))
    page.keyboard.press("]")
    expect(page.locator("#replay-at")).to_have_text(str([s for s in seqs if s > 1][1]))
    page.keyboard.press("[")
    expect(page.locator("#replay-at")).to_have_text(str(next(s for s in seqs if s > 1)))

    # One tab stop for all marks: Tab lands on the first; → moves along them; Enter jumps.
    page.locator("#replay-forward").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('mark')"):
            break
    first = marks.first
    expect(first).to_be_focused()
    expect(first).to_have_accessible_name(re.compile(rf"^Jump to #{seqs[0]}: "))
    at = page.locator("#replay-at").text_content()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(marks.nth(2)).to_be_focused()
    expect(page.locator("#replay-at")).to_have_text(at)  # moving between marks does not step the replay
    page.keyboard.press("Enter")
    expect(page.locator("#replay-at")).to_have_text(str(seqs[2]))
    page.keyboard.press("Tab")
    expect(page.locator("#replay-scrub")).to_be_focused()  # the other marks are not tab stops


def test_codebook_form_adds_label_rows_with_new_colours(page, live_server_url, owner):
    base = live_server_url
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/research/codebooks/new/")
    rows = page.locator(".label-row")
    expect(rows).to_have_count(3)
    page.click("#add-label")
    page.click("#add-label")
    expect(rows).to_have_count(5)
    expect(page.locator('input[name="label-4-name"]')).to_be_focused()
    colours = [page.locator(f'input[name="label-{i}-color"]').input_value() for i in range(5)]
    assert len(set(colours)) == 5
    page.fill("#cb-name", "Five")
    for i in range(5):
        page.fill(f'input[name="label-{i}-name"]', f"code {i}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".codebook-labels kbd")).to_have_count(5)
    expect(page.locator(".codebook-labels")).to_contain_text("code 4")
