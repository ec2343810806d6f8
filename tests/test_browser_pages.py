"""The live page shows what the log holds, and the pages a new user meets
(issue 10, the pages half): Chromium against daphne and a slow scripted worker.
Screenshots land in tests/artifacts/screenshots/."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from collab.sessions import services
from collab.sessions.models import Event, Membership, Session

pytest.register_assert_rewrite("tests.browser")

from tests.browser import SCREENSHOTS, expect_status, log_in, stream_events, wait_connected  # noqa: E402
from tests.engine_helpers import make_team, wait_until  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]

PASSWORD = "owner-pass-123"


def start_trio(owner, **kwargs) -> Session:
    session = services.session_create(owner=owner, team=make_team(owner), provider="scripted",
                                      **{"max_turns": 9, "protocol": "round_robin", "protocol_params": {"rounds": 3},
                                         "brief": "Write a function that returns the n-th Fibonacci number.",
                                         **kwargs})
    services.session_start(session=session, user=owner)
    return session


def watch_console(page: Page) -> list[str]:
    """Every console message of the page, whatever its level."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(f"{msg.type}: {msg.text}"))
    return seen


def typing_bubble(page: Page, timeout: float = 40_000) -> None:
    page.wait_for_function("""() => [...document.querySelectorAll('#stream .msg.streaming .msg-body')]
                                     .some(b => b.textContent.length > 0)""", timeout=timeout)


def assert_page_is_the_log(page: Page, session_id: int) -> None:
    """No typing bubble, no typing dots, and exactly the log's events, once each, in order."""
    expect(page.locator("#stream .msg.streaming")).to_have_count(0)
    expect(page.locator("#stream .typing")).to_have_count(0)
    last = Session.objects.get(pk=session_id).last_seq
    expect(page.locator("#stream article[id^=ev-]")).to_have_count(last)
    assert [e["seq"] for e in stream_events(page)] == list(range(1, last + 1))


# --- item 4: Stop leaves no ghost ---------------------------------------------------------


def test_stop_mid_reply_leaves_no_ghost_on_any_page(chromium, page, live_server_url, owner, participant):
    base = live_server_url
    session = start_trio(owner)
    services.membership_add(session=session, by=owner, user=participant, capacity=Membership.Capacity.OBSERVER)
    log_in(page, base, "owner", PASSWORD)
    page.goto(f"{base}/sessions/{session.pk}/")
    wait_connected(page)
    other = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        log_in(other, base, "participant", "participant-pass-123")
        other.goto(f"{base}/sessions/{session.pk}/")
        wait_connected(other)
        typing_bubble(page)
        typing_bubble(other)
        page.once("dialog", lambda dialog: dialog.accept())  # Stop asks first
        page.click("button[data-action=stop]")
        for viewer in (page, other):
            expect_status(viewer, "finished")
            wait_until(lambda: Session.objects.get(pk=session.pk).lease_token == "", what="the cut turn to end")
            viewer.wait_for_timeout(1500)  # deltas still in flight when the halt landed must not revive a bubble
            assert_page_is_the_log(viewer, session.pk)
        page.shots("stopped-owner")
        # The half-streamed reply is not in the log, and a reload shows the same page.
        assert not Event.objects.filter(session=session, kind="message", payload__interrupted=True).exists()
        other.reload()
        wait_connected(other)
        assert_page_is_the_log(other, session.pk)
    finally:
        other.context.close()


def test_stop_can_be_called_off(page, live_server_url, owner):
    session = start_trio(owner)
    log_in(page, live_server_url, "owner", PASSWORD)
    page.goto(f"{live_server_url}/sessions/{session.pk}/")
    wait_connected(page)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("button[data-action=stop]")
    page.wait_for_timeout(800)
    assert asked and "Stop" in asked[0]
    assert Session.objects.get(pk=session.pk).status in {"running", "awaiting_human"}
    expect(page.locator("button[data-action=stop]")).to_be_visible()


# --- item 7: no stale "deciding…" bubbles, every out-of-band swap has its target --------------


def test_scenario_session_leaves_no_bubble_and_no_oob_error(page, live_server_url, owner):
    console = watch_console(page)
    page.add_init_script("""window.__oobErrors = [];
        document.addEventListener("htmx:oobErrorNoTarget", e => window.__oobErrors.push(
            (e.detail.content && e.detail.content.outerHTML || "").slice(0, 200)));""")
    log_in(page, live_server_url, "owner", PASSWORD)
    from collab.teams.services import team_create_from_preset

    team = team_create_from_preset(preset_key="fishery_village", owner=owner)
    session = services.session_create(
        owner=owner, team=team, provider="scripted", max_turns=200, protocol="scenario",
        protocol_params={"scenario": "fishery", "params": {"months": 3, "max_utterances": 1, "reflect": False}})
    page.goto(f"{live_server_url}/sessions/{session.pk}/")
    wait_connected(page)
    services.session_start(session=session, user=owner)
    page.wait_for_function("() => [...document.querySelectorAll('#stream .msg.streaming')]"
                           ".some(b => b.textContent.includes('deciding'))", timeout=30_000)
    expect_status(page, "finished", timeout=120_000)
    page.wait_for_timeout(1000)
    assert Event.objects.filter(session=session, kind="action").count() >= 3
    assert_page_is_the_log(page, session.pk)
    expect(page.locator("#stream")).not_to_contain_text("deciding…")
    assert page.evaluate("window.__oobErrors") == []
    assert not [m for m in console if "oobErrorNoTarget" in m or m.startswith("error")], console
    # Item 13: actions as content, one row a month beside the chart, live and after a reload.
    months = Event.objects.filter(session=session, kind="scenario_state").count()
    expect(page.locator("#round-rows li")).to_have_count(months)
    expect(page.locator("#stream .action-card dt", has_text="catch")).to_have_count(3 * 5)
    assert "{'" not in page.inner_text("#stream")
    page.shots("fishery-finished")
    page.reload()
    wait_connected(page)
    expect(page.locator("#round-rows li")).to_have_count(months)


# --- item 5: the composer says a text is too long before sending ----------------------------


def test_message_boxes_count_and_refuse_an_over_long_text(page, live_server_url, owner):
    from django.conf import settings

    limit = settings.MAX_HUMAN_MESSAGE_CHARS
    session = start_trio(owner)
    log_in(page, live_server_url, "owner", PASSWORD)
    page.goto(f"{live_server_url}/sessions/{session.pk}/")
    wait_connected(page)
    page.click("button[data-action=pause]")
    expect_status(page, "paused")
    box, count, send = page.locator("#inject-text"), page.locator("#inject-text-count"), \
        page.locator("form.inject button[type=submit]")
    box.fill("x" * (limit + 25))  # a long paste is kept whole, not cut at the limit
    assert len(box.input_value()) == limit + 25
    expect(count).to_contain_text(f"{limit + 25:,} / {limit:,}")
    expect(count).to_contain_text("25 too many")
    expect(send).to_be_disabled()
    page.shots("over-limit")
    box.press("Control+Enter")
    page.wait_for_timeout(500)
    assert not Event.objects.filter(session=session, actor="user:owner", kind="message").exists()

    text = "y" * (limit - 1)
    box.fill(text)
    expect(send).to_be_enabled()
    expect(count).not_to_have_class(re.compile("over"))
    send.click()
    wait_until(lambda: Event.objects.filter(session=session, actor="user:owner", kind="message").exists(),
               what="the note")
    assert Event.objects.get(session=session, actor="user:owner", kind="message").payload["text"] == text
    expect(box).to_have_value("")
    expect(count).to_be_empty()


# --- item 11: the New session page ------------------------------------------------------------


def page_height(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def test_new_session_page_cards_fields_and_advanced_json(page, live_server_url, owner):
    base = live_server_url
    make_team(owner)
    log_in(page, base, "owner", PASSWORD)
    page.goto(f"{base}/sessions/new/")
    height = page_height(page)
    print(f"\nNew session page height at 1280 px: {height} px")
    (SCREENSHOTS.parent / "new-session-height.txt").write_text(f"{height}\n")
    page.shots("new-session")
    assert height < 3000, height
    # Only the picked protocol's parameters show; picking a scenario hides the protocols.
    expect(page.locator("#id_protocol-round_robin-rounds")).to_be_visible()
    expect(page.locator("#id_protocol-moderator-speeches")).to_be_hidden()
    page.locator("label.pick-card", has_text="Moderator").click()
    expect(page.locator("#id_protocol-moderator-speeches")).to_be_visible()
    expect(page.locator("#id_protocol-round_robin-rounds")).to_be_hidden()

    # A preset card fills in a new team, the scenario and its parameters.
    page.locator("a.pick-card", has_text="Fishery village").click()
    page.wait_for_url(re.compile(r"\?preset=fishery_village$"))
    expect(page.locator("input[name=team][value='preset:fishery_village']")).to_be_checked()
    expect(page.locator("input[name=scenario][value=fishery]")).to_be_checked()
    expect(page.locator("#pick-protocol")).to_be_hidden()
    months = page.locator("#id_scenario-fishery-months")
    expect(months).to_be_visible()
    expect(months).to_have_attribute("max", "120")

    # Advanced: the same parameters as valid JSON; an edit there comes back to the fields.
    page.check("#id_advanced")
    box = page.locator("#id_scenario_params")
    expect(box).to_be_visible()
    params = page.evaluate("JSON.parse(document.getElementById('id_scenario_params').value)")
    assert params["months"] == 12 and params["reflect"] is True
    box.fill(json.dumps({**params, "months": 2, "max_utterances": 1, "reflect": False}))
    page.uncheck("#id_advanced")
    expect(months).to_have_value("2")
    expect(page.locator("#id_scenario-fishery-reflect")).not_to_be_checked()

    # Out of range: an inline error on the field, focused; nothing made.
    months.fill("500")
    page.get_by_role("button", name="Create and start").click()
    page.wait_for_load_state()
    field = page.locator(".field.has-error", has=page.locator("#id_scenario-fishery-months"))
    expect(field).to_contain_text("less than or equal to 120")
    expect(page.locator("#id_scenario-fishery-months")).to_be_focused()
    assert not Session.objects.exists()
    page.shots("inline-error")

    page.fill("#id_scenario-fishery-months", "2")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    session = Session.objects.get()
    assert session.scenario == "fishery" and session.status == "draft"
    assert session.scenario_params["months"] == 2 and session.scenario_params["reflect"] is False
    assert session.team.preset == "fishery_village"


def test_new_session_page_at_390_px(chromium, live_server_url, owner):
    make_team(owner)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        log_in(phone, live_server_url, "owner", PASSWORD)
        phone.goto(f"{live_server_url}/sessions/new/")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the side
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(SCREENSHOTS / "new_session_390-01-page.png"), full_page=True)
    finally:
        context.close()


# --- item 12: Home --------------------------------------------------------------------------------


def test_home_starts_a_preset_in_one_click(page, live_server_url, owner):
    log_in(page, live_server_url, "owner", PASSWORD)
    page.shots("home")
    card = page.locator(".preset-card", has=page.get_by_role("heading", name="Courtroom", exact=True))
    card.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    wait_connected(page)
    session = Session.objects.get()
    assert session.team.preset == "courtroom" and session.status == "running"
    expect(page.locator("h1.page-title")).to_have_text(session.title)
    page.goto(f"{live_server_url}/")
    row = page.locator("#live-now tr", has_text=session.title)
    expect(row).to_contain_text("Courtroom")
    expect(row).to_contain_text("Debate and vote")
    page.shots("home-live")


# --- items 14 and 15: phones, and feedback next to the control ---------------------------------------


def in_view(page: Page, selector: str, height: int = 844) -> bool:
    box = page.locator(selector).bounding_box()
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_phone_keeps_controls_and_composer_in_reach_and_says_what_happened(chromium, live_server_url, owner):
    session = start_trio(owner)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(phone, live_server_url, "owner", PASSWORD)
        phone.goto(f"{live_server_url}/sessions/{session.pk}/")
        wait_connected(phone)
        wait_until(lambda: Event.objects.filter(session=session, kind="message").count() >= 2, what="two replies")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        for where in ("0", "document.body.scrollHeight / 3", "document.body.scrollHeight / 2"):
            phone.evaluate(f"window.scrollTo(0, {where})")
            phone.wait_for_timeout(200)
            assert in_view(phone, "button[data-action=pause]"), f"Pause out of reach at scroll {where}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone.evaluate("window.scrollTo(0, 0)")
        phone.screenshot(path=str(SCREENSHOTS / "live_390-01-owner.png"), full_page=False)

        # Feedback next to the note form, reached from the dock.
        phone.click(".dock-speak")
        expect(phone.locator("#inject-text")).to_be_focused()
        phone.fill("#inject-text", "Keep it short, please.")
        phone.locator("form.inject button[type=submit]").click()
        expect(phone.locator("#inject-feedback")).to_have_text("Sent to everyone.")
        assert in_view(phone, "#inject-feedback")

        # Take a seat: said next to the seat list; when the turn comes, the composer is focused and in view.
        phone.locator("ul.seats li", has_text="tester").get_by_role("button", name="Take seat").click()
        expect(phone.locator("#seat-feedback")).to_have_text("You now play tester.")
        assert in_view(phone, "#seat-feedback")
        phone.evaluate("window.scrollTo(0, 0)")
        expect_status(phone, "awaiting_human", timeout=40_000)
        expect(phone.locator("#say-text")).to_be_focused()
        assert in_view(phone, "#say-text")
        phone.screenshot(path=str(SCREENSHOTS / "live_390-02-my-turn.png"), full_page=False)
        phone.fill("#say-text", "Tests for n = 0 too.")
        phone.get_by_role("button", name="Send as tester").click()
        expect(phone.locator("#composer-feedback")).to_have_text("Sent as tester.")
        phone.screenshot(path=str(SCREENSHOTS / "live_390-03-page.png"), full_page=True)
    finally:
        context.close()
    assert not errors, errors


def test_vote_turn_leaves_no_bubble_and_no_oob_error(page, live_server_url, owner):
    console = watch_console(page)
    session = services.session_create(owner=owner, team=make_team(owner), provider="scripted", max_turns=10,
                                      protocol="debate_vote", protocol_params={"rounds": 1, "options": ["ship", "wait"]})
    log_in(page, live_server_url, "owner", PASSWORD)
    page.goto(f"{live_server_url}/sessions/{session.pk}/")
    wait_connected(page)
    services.session_start(session=session, user=owner)
    expect_status(page, "finished", timeout=90_000)
    page.wait_for_timeout(1000)
    assert_page_is_the_log(page, session.pk)
    expect(page.locator("#stream .vote-card")).to_have_count(3)
    expect(page.locator("#live-dock")).to_be_hidden()  # nothing left to control: the dock takes no room
    assert not [m for m in console if "oobErrorNoTarget" in m or m.startswith("error")], console
    page.shots("votes")
