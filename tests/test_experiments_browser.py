"""The experiment page in Chromium: made from the form, the progress bar and
the cells fill in live, the results and charts appear, at 1280 and 390 px."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import log_in

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


def test_an_experiment_fills_in_live_and_shows_its_intervals(page, live_server_url, owner):
    log_in(page, live_server_url, "owner", "owner-pass-123")
    page.get_by_role("link", name="Experiments").click()
    expect(page.locator("h1.page-title")).to_have_text("Experiments")
    page.get_by_role("link", name="New experiment").click()
    page.select_option("#id_preset", "public_goods_group")
    page.fill("#id_vary", "reward")
    page.fill("#id_values", "standard, mac_spgg")
    page.fill("#id_seeds", "3")
    page.shots("form")
    page.get_by_role("button", name="Create and start").click()
    expect(page.locator("h1.page-title")).to_have_text("Public goods group (standard game): reward")
    cells = page.locator(".exp-cells .exp-cell")
    expect(cells).to_have_count(6)
    expect(page.locator("#progress-text")).to_contain_text("6 of 6 runs done", timeout=120_000)
    expect(page.locator(".exp-cells .exp-complete")).to_have_count(6)
    assert page.locator("progress.exp-progress").get_attribute("value") == "6"
    expect(page.locator(".badge.exp-status-finished")).to_be_visible()
    expect(page.locator("#results-title")).to_be_visible()
    row = page.locator(".exp-results tr", has_text="total_welfare").first
    expect(row.locator("td")).to_have_count(2)
    expect(row.locator("td").first).to_contain_text("n = 3")
    expect(page.locator(".exp-charts figure svg").first).to_be_visible()
    page.shots("finished-1280")
    # Keyboard: the first cell is a link to its session.
    page.locator(".exp-cells a").first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    page.go_back()
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    page.shots("finished-390")
