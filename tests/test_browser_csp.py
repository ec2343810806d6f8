"""The Content-Security-Policy (no inline script, no eval) holds on every main
page in Chromium: nothing is refused, and the pages still work (the team
form's script, htmx and its websocket, the live chart, flash messages)."""

import re

import pytest
from playwright.sync_api import expect

pytest.register_assert_rewrite("tests.browser")

from collab.teams.services import team_create_from_preset  # noqa: E402
from tests.browser import expect_status, log_in, session_id_from, wait_connected  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]

PASSWORD = "owner-pass-123"  # the conftest `owner` fixture's
# Recorded in the page, so a violation is caught even where the console is quiet.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    page.wait_for_load_state("networkidle")
    assert violations(page) == [], (url, violations(page))


def test_main_pages_run_under_the_content_security_policy(page, live_server_url, owner, slow_worker):
    base = live_server_url
    owner.is_staff = owner.is_superuser = True  # the admin is one of the pages
    owner.save()
    page.context.add_init_script(RECORD_VIOLATIONS)
    visit(page, f"{base}/accounts/login/")
    visit(page, f"{base}/accounts/signup/")
    log_in(page, base, "owner", PASSWORD)
    for path in ("/", "/teams/", "/teams/models/", "/sessions/new/", "/admin/"):
        visit(page, base + path)

    # The team form's script (a file now): adding a role works.
    visit(page, f"{base}/teams/new/")
    roles = page.locator("[data-role-form]")
    before = roles.count()
    page.get_by_role("button", name=re.compile("Add (a )?role", re.I)).click()
    expect(roles).to_have_count(before + 1)

    # A live session: htmx, the websocket, streaming and the scenario chart.
    team = team_create_from_preset(preset_key="fishery_village", owner=owner)
    visit(page, f"{base}/sessions/new/?team={team.pk}")
    page.fill("#id_scenario-fishery-months", "2")
    page.fill("#id_scenario-fishery-max_utterances", "1")
    page.uncheck("#id_scenario-fishery-reflect")
    page.select_option("#id_provider", "scripted")
    page.get_by_role("button", name="Create and start").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    wait_connected(page)
    expect(page.locator("#stream article[id^=ev-]").first).to_be_visible()
    page.get_by_role("button", name="Pause").click()  # over the socket; the status badge follows
    expect_status(page, "paused")
    assert violations(page) == []
    session_id = session_id_from(page)
    visit(page, f"{base}/sessions/{session_id}/transcript/")

    # A flash message closes without an inline handler: pausing a paused session is refused with one.
    page.evaluate("""() => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = location.pathname.replace(/transcript\\/$/, "") + "pause/";
        const token = document.createElement("input");
        token.name = "csrfmiddlewaretoken";
        token.value = document.cookie.match(/csrftoken=([^;]+)/)[1];
        form.append(token);
        document.body.append(form);
        form.submit();
    }""")
    page.wait_for_url(re.compile(rf"/sessions/{session_id}/$"))
    flash = page.locator(".flash", has_text="Only a running session can be paused")
    expect(flash).to_be_visible()
    flash.locator(".flash-close").click()
    expect(flash).to_have_count(0)
    assert violations(page) == []
    assert not [e for e in page.problems.console_errors if "Content Security Policy" in e], page.problems.console_errors

    # The check is not blind: an inline script is refused, and seen.
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.__ran = 1";
                             document.body.append(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None
    assert any(v.startswith("script-src") for v in violations(page)), violations(page)
