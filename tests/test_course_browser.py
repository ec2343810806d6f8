"""A teaching lab in Chromium: an instructor creates a course, two students
join by its link (one signing up on the way), the instructor publishes a
design assignment, both students play their seats with agent teammates from
their own browser contexts while the instructor's wall updates live, the
instructor grades the group and downloads the grades CSV.

Screenshots of the course page, the wall, the grading form and the student
view at 1280 and 390 px land in tests/artifacts/screenshots/."""

import csv
import re
import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

pytest.register_assert_rewrite("tests.browser")

from collab.courses.models import Course, Grade, GroupSession  # noqa: E402
from tests.browser import SCREENSHOTS, log_in, wait_connected  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]

SEATS = {"newbie": "Problem Formulation", "sam": "System Complexity"}  # students hold roles in username order


def both_widths(page: Page, name: str) -> None:
    """A full-page screenshot at 1280 px and at 390 px (a phone)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(150)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => {
                if (e.getBoundingClientRect().right <= document.documentElement.clientWidth + 1) return false;
                for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                    if (getComputedStyle(a).overflowX !== 'visible') return false;
                }
                return true;
            })
            .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))""")
        page.screenshot(path=str(SCREENSHOTS / f"course-{name}-{width}.png"), full_page=True)
        assert overflow <= 1, f"{name} scrolls sideways at {width} px by {overflow} px: {wide}"
    page.set_viewport_size({"width": 1280, "height": 900})


def student_context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    return context, pg


def test_teaching_lab_end_to_end(page, chromium, live_server_url, tmp_path):
    base = live_server_url
    User.objects.create_user("prof", password="prof-pass-123", first_name="Pat", last_name="Prof")
    User.objects.create_user("sam", password="sam-pass-12345", first_name="Sam", last_name="Student")

    # The instructor creates the course.
    log_in(page, base, "prof", "prof-pass-123")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
    page.fill("#id_title", "ENGR 490 Senior Design")
    page.fill("#id_code", "ENGR 490")
    page.get_by_role("button", name="Create course").click()
    expect(page.locator("h1.page-title")).to_have_text("ENGR 490 Senior Design")
    join_url = page.locator("#join-url").input_value()
    assert re.search(r"/courses/join/\w+/$", join_url)

    # Two students join by the link: Sam logs in on the way, the newcomer signs up on the way.
    sam_ctx, sam = student_context(chromium)
    sam.goto(join_url)
    sam.fill("#id_username", "sam")
    sam.fill("#id_password", "sam-pass-12345")
    sam.get_by_role("button", name="Log in").click()
    sam.get_by_role("button", name="Join the course").click()
    expect(sam.locator("h1.page-title")).to_have_text("ENGR 490 Senior Design")

    new_ctx, newbie = student_context(chromium)
    newbie.goto(join_url)
    newbie.get_by_role("link", name="Create an account").click()
    newbie.fill("#id_username", "newbie")
    newbie.fill("#id_password1", "a-long-pass-phrase")
    newbie.fill("#id_password2", "a-long-pass-phrase")
    newbie.get_by_role("button", name="Sign up").click()
    expect(newbie.locator("h1.page-title")).to_contain_text("Join “ENGR 490 Senior Design”")
    newbie.get_by_role("button", name="Join the course").click()
    expect(newbie.locator("h1.page-title")).to_have_text("ENGR 490 Senior Design")

    # Groups at random, two per group: both students in Group 1.
    page.reload()
    page.fill("#id_size", "2")
    page.get_by_role("button", name="Form groups at random").click()
    expect(page.locator(".flash")).to_contain_text("in 1 group.")
    expect(page.locator("#roster")).to_contain_text("newbie")
    both_widths(page, "course-page")

    # A design assignment, published: one session for the group.
    page.get_by_role("link", name="+ New assignment").click()
    page.fill("#id_title", "Bike shelter proposal")
    page.fill("#id_brief", "Design a covered **bike shelter** for 40 bikes at the campus library.")
    page.fill("#id_student_roles", ", ".join(SEATS.values()))
    page.get_by_role("button", name="Save assignment").click()
    expect(page.locator("h1.page-title")).to_have_text("Bike shelter proposal")
    page.get_by_role("button", name="Publish to all groups").click()
    expect(page.locator(".flash")).to_contain_text("Published: 1 group session")
    link = GroupSession.objects.get()

    # The instructor's wall: one tile, live.
    page.get_by_role("link", name="Live wall").click()
    tile = page.locator(f"#tile-{link.session_id}")
    expect(tile).to_be_visible()
    page.wait_for_timeout(300)

    # Both students open their group's session and play their seats.
    players = {"sam": sam, "newbie": newbie}
    for name, pg in players.items():
        pg.goto(f"{base}/courses/assignments/{link.assignment_id}/")
        pg.get_by_role("link", name="Open the session").click()
        wait_connected(pg)
        expect(pg.locator("#composer")).to_contain_text(f"You play {SEATS[name]}")

    # The wall follows without a reload: it shows the group waiting on a student at some point.
    expect(tile).to_have_attribute("data-status", "awaiting_human", timeout=60_000)
    expect(tile.locator(".tile-awaiting")).to_contain_text(SEATS["newbie"])
    spoken = {name: 0 for name in players}
    deadline = time.monotonic() + 150
    while min(spoken.values()) < 2 and time.monotonic() < deadline:
        for name, pg in players.items():
            if "it is your turn" in (pg.locator("#composer-turn").text_content() or ""):
                pg.fill("#say-text", f"{name} says: riders need lighting and drainage ({spoken[name]}).")
                pg.get_by_role("button", name=f"Send as {SEATS[name]}").click()
                spoken[name] += 1
                expect(pg.locator("#composer-turn")).not_to_contain_text("it is your turn", timeout=20_000)
        page.wait_for_timeout(200)
    assert spoken == {"sam": 2, "newbie": 2}
    expect(tile).to_have_attribute("data-status", "finished", timeout=90_000)
    assert int(tile.locator(".tile-tokens").text_content().split("/")[0]) > 0
    expect(tile.locator(".tile-score")).to_have_text(re.compile(r"^\d\.\d\d$"))
    both_widths(page, "wall")
    for name, pg in players.items():
        assert not pg.errors, f"{name}'s page: {pg.errors}"
        text = pg.locator("#stream").inner_text()
        assert f"{name} says: riders need lighting" in text

    # Grade the group: a level per criterion, one comment; reopening shows what was saved.
    page.goto(f"{base}/courses/assignments/{link.assignment_id}/grades/")
    page.get_by_role("link", name="Grade Group 1").click()
    criteria = page.locator("fieldset.criterion")
    assert criteria.count() == 4
    for i in range(4):
        criteria.nth(i).locator("label.level").nth(i % 4).click()
    page.fill("#comment-1", "State how many riders use it at peak.")
    page.get_by_role("button", name="Save grade").click()
    expect(page.locator(".flash")).to_contain_text("Grade saved for Group 1")
    expect(page.locator("#comment-1")).to_have_value("State how many riders use it at peak.")
    assert page.locator("input[type=radio]:checked").count() == 4
    assert page.locator(".judge-line").count() == 4  # the Faculty Judge's levels beside the grader's
    both_widths(page, "grading-form")
    grade = Grade.objects.get()
    assert float(grade.total) == 0 + 5 + 10 + 15

    # Feedback released: the student sees scores, comments and the transcript link.
    page.goto(f"{base}/courses/assignments/{link.assignment_id}/grades/")
    page.get_by_role("button", name="Release feedback").click()
    newbie.goto(f"{base}/courses/assignments/{link.assignment_id}/")
    expect(newbie.locator(".feedback")).to_contain_text("State how many riders use it at peak.")
    expect(newbie.locator(".feedback")).to_contain_text("30 / 60 points")
    both_widths(newbie, "student-view")

    # The grades CSV downloads with one row per student.
    with page.expect_download() as download:
        page.get_by_role("link", name="Grades CSV (Canvas/Moodle)").click()
    path = tmp_path / "grades.csv"
    download.value.save_as(path)
    rows = list(csv.reader(path.open()))
    assert rows[0][-1] == f"Bike shelter proposal ({link.assignment_id})"
    students = {r[3]: r for r in rows[2:]}
    assert set(students) == {"sam", "newbie"}
    assert students["sam"][0] == "Student, Sam" and float(students["sam"][5]) == 30.0
    assert Course.objects.count() == 1
    sam_ctx.close()
    new_ctx.close()
