"""Editors that must keep what the user wrote, in Chromium: the plan editor
saved twice without a reload, and by two pages at once."""

import re

import pytest
from playwright.sync_api import Page, expect

from collab.sessions import services

pytest.register_assert_rewrite("tests.browser")

from tests.browser import Problems, Shots, log_in, wait_connected  # noqa: E402
from tests.engine_helpers import make_team  # noqa: E402

pytest_plugins = ["tests.browser"]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]

PASSWORD = "owner-pass-123"


def open_session_page(page: Page, base: str, session_id: int) -> None:
    page.goto(f"{base}/sessions/{session_id}/")
    wait_connected(page)
    page.get_by_text("Edit the plan").click()


def add_step(page: Page, text: str) -> None:
    page.locator("#plan-edit-fields .plan-edit-row").last.locator("input[name=text]").fill(text)
    page.get_by_role("button", name="Save plan").click()


def board_steps(page: Page) -> list[str]:
    return [re.sub(r"^\S+\s+", "", t).strip() for t in page.locator("#plan-board li").all_inner_texts()]


def test_plan_saved_twice_without_a_reload_keeps_every_step(page, live_server_url, owner):
    base = live_server_url
    session = services.session_create(owner=owner, team=make_team(owner))
    log_in(page, base, "owner", PASSWORD)
    open_session_page(page, base, session.pk)
    other = page.context.new_page()  # a second page of the owner's, open all along
    other.problems, other.shots = Problems(other), Shots(other, "plan_second_page")
    open_session_page(other, base, session.pk)

    add_step(page, "Write the spec")
    expect(page.locator("#plan-board h3")).to_contain_text("v1")
    expect(page.locator("#plan-edit-fields")).to_have_attribute("data-version", "1")
    add_step(page, "Code it")  # no reload in between
    expect(page.locator("#plan-board h3")).to_contain_text("v2")
    assert board_steps(page) == ["Write the spec", "Code it"]
    page.shots("saved-twice")

    # The other page's editor followed both saves; its own save keeps them.
    expect(other.locator("#plan-edit-fields")).to_have_attribute("data-version", "2")
    expect(other.locator("#plan-edit-fields .plan-edit-replaced")).to_be_hidden()
    add_step(other, "Test it")
    expect(page.locator("#plan-board h3")).to_contain_text("v3")
    session.refresh_from_db()
    assert [s["text"] for s in session.state["plan"]["steps"]] == ["Write the spec", "Code it", "Test it"]

    # A page with unsent changes, when the plan moves on under it, shows the new plan and says so.
    other.locator("#plan-edit-fields input[name=text]").first.fill("Half-typed rewrite")
    add_step(page, "Ship it")
    expect(other.locator("#plan-edit-fields")).to_have_attribute("data-version", "4")
    expect(other.locator("#plan-edit-fields .plan-edit-replaced")).to_be_visible()
    expect(other.locator("#plan-edit-fields input[name=text]").first).to_have_value("Write the spec")
    other.shots("changed-while-editing")
    add_step(other, "Celebrate")
    expect(page.locator("#plan-board h3")).to_contain_text("v5")
    assert board_steps(page) == ["Write the spec", "Code it", "Test it", "Ship it", "Celebrate"]
    expect(other.locator("#plan-edit-fields .plan-edit-replaced")).to_be_hidden()
    assert not other.problems.page_errors


def role_cards(page: Page) -> list[tuple[str, str]]:
    """(name, position) of each role card, in page order."""
    return [tuple(card) for card in page.eval_on_selector_all(
        "#roles [data-role-form]",
        "els => els.map(e => [e.querySelector('[name$=-name]').value, e.querySelector('[name$=-ORDER]').value])")]


def test_team_editor_keeps_role_order_through_add_reorder_and_a_second_save(page, live_server_url, owner):
    from collab.teams.models import Team

    base = live_server_url
    log_in(page, base, "owner", PASSWORD)
    page.goto(f"{base}/teams/new/")
    page.fill("#id_name", "Alphabet")
    page.fill("#id_roles-0-name", "A")
    for i, name in ((1, "B"), (2, "C")):
        page.get_by_role("button", name="+ Add role").click()
        page.fill(f"#id_roles-{i}-name", name)
    assert role_cards(page) == [("A", "1"), ("B", "2"), ("C", "3")]  # new roles numbered after the others
    page.shots("three-roles")
    page.get_by_role("button", name="Save team").first.click()
    expect(page.locator(".flash")).to_contain_text("Created the team")
    team = Team.objects.get(owner=owner, name="Alphabet")
    assert list(team.roles.order_by("order").values_list("name", flat=True)) == ["A", "B", "C"]
    assert role_cards(page) == [("A", "1"), ("B", "2"), ("C", "3")]

    # A second save of the same page changes nothing; a fourth role goes after the others.
    page.get_by_role("button", name="+ Add role").click()
    page.fill("#id_roles-3-name", "D")
    assert role_cards(page)[-1] == ("D", "4")
    page.get_by_role("button", name="Save team").first.click()
    expect(page.locator(".flash")).to_contain_text("Saved the team")
    assert list(team.roles.order_by("order").values_list("name", flat=True)) == ["A", "B", "C", "D"]

    # Reorder with the buttons: C up twice, then D up once.
    card = page.locator("#roles [data-role-form]").filter(has=page.locator("input[value=C]"))
    card.get_by_role("button", name="Move up").click()
    card.get_by_role("button", name="Move up").click()
    page.locator("#roles [data-role-form]").filter(has=page.locator("input[value=D]")).get_by_role(
        "button", name="Move up").click()
    assert [n for n, _ in role_cards(page)] == ["C", "A", "D", "B"]
    page.get_by_role("button", name="Save team").first.click()
    expect(page.locator(".flash")).to_contain_text("Saved the team")
    assert list(team.roles.order_by("order").values_list("name", flat=True)) == ["C", "A", "D", "B"]
    assert role_cards(page) == [("C", "1"), ("A", "2"), ("D", "3"), ("B", "4")]
    page.shots("reordered")
