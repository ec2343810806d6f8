"""In Chromium: a player seated as a role sees that role's whispers arrive
live and never another role's; the owner switches "view as" a role and back,
at desktop and phone widths."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from collab.sessions import services
from collab.sessions.models import Membership

pytest.register_assert_rewrite("tests.browser")

from tests.browser import SCREENSHOTS, log_in, wait_connected  # noqa: E402
from tests.engine_helpers import make_team  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


def stream_text(page) -> str:
    return page.locator("#stream").inner_text()


def test_a_seated_player_sees_only_its_roles_whispers_and_the_owner_can_view_as_a_role(
        page, chromium, live_server_url, owner):
    player = User.objects.create_user("player", password="player-pass-123")
    session = services.session_create(owner=owner, team=make_team(owner))
    services.membership_add(session=session, by=owner, user=player, capacity=Membership.Capacity.PARTICIPANT)
    services.seat_take(session=session, user=player, role="tester")
    url = f"{live_server_url}/sessions/{session.pk}/"

    player_context = chromium.new_context(viewport={"width": 390, "height": 844})
    player_context.set_default_timeout(15_000)
    player_page = player_context.new_page()
    log_in(player_page, live_server_url, "player", "player-pass-123")
    player_page.goto(url)
    wait_connected(player_page)
    expect(player_page.locator("#view-as")).to_contain_text("You play tester")
    expect(player_page.locator("#view-as-role")).to_have_count(0)

    log_in(page, live_server_url, "owner", "owner-pass-123")
    page.goto(url)
    wait_connected(page)
    page.select_option("#view-as-role", "coder")
    page.click("#view-as button")
    expect(page.locator("#viewing-as")).to_have_text("showing what coder sees")
    wait_connected(page)
    page.shots("viewing-as-coder")

    # The owner whispers to tester from the page, over the socket.
    page.fill("#inject-text", "only the tester hears this")
    page.select_option("#inject-to", "tester")
    page.click("form.inject button[type=submit]")
    expect(player_page.locator("#stream")).to_contain_text("only the tester hears this")
    services.session_inject(session=session, user=owner, text="the coder's secret", to_role="coder")
    services.session_inject(session=session, user=owner, text="news for all")
    expect(player_page.locator("#stream")).to_contain_text("news for all")
    expect(page.locator("#stream")).to_contain_text("news for all")
    assert "the coder's secret" not in stream_text(player_page)
    assert "the coder's secret" in stream_text(page) and "only the tester hears this" not in stream_text(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    player_page.screenshot(path=str(SCREENSHOTS / "view_as-player-tester-390.png"), full_page=True)

    # After a reload the player's page still holds only what tester may see.
    player_page.reload()
    wait_connected(player_page)
    assert "only the tester hears this" in stream_text(player_page)
    assert "the coder's secret" not in stream_text(player_page)

    # Back to everything: both whispers are there.
    page.select_option("#view-as-role", "")
    page.click("#view-as button")
    wait_connected(page)
    expect(page.locator("#viewing-as")).to_have_count(0)
    for text in ("only the tester hears this", "the coder's secret", "news for all"):
        expect(page.locator("#stream")).to_contain_text(text)
    page.set_viewport_size({"width": 390, "height": 844})
    page.shots("everyone-390")
    player_context.close()
