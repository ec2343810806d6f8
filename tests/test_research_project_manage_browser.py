"""Changing a project in Chromium, under the Content-Security-Policy: the
owner opens a coder's confirmation, removes them, adds a session through
the picker, and takes the first one out again; nothing is refused by the
policy and every step says what it did."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from collab.research import annotation
from collab.research.codebooks import codebook_save
from collab.research.models import Coder

pytest.register_assert_rewrite("tests.browser")

from tests.browser import log_in  # noqa: E402
from tests.research_helpers import run_session  # noqa: E402
from tests.test_browser_csp import RECORD_VIOLATIONS, violations  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


def test_owner_removes_a_coder_adds_a_session_and_takes_one_out(page, live_server_url, owner):
    base = live_server_url
    first = run_session(owner, pad_to=20, title="First run")
    second = run_session(owner, pad_to=20, title="Second run")
    book = codebook_save(owner=owner, codebook=None, name="Stance", labels=[{"name": "supports", "color": "#16a34a"}])
    project = annotation.project_create(owner=owner, name="Stance study", codebook=book, sessions=[first])
    alice = User.objects.create_user("alice", password="alice-pass-123")
    annotation.coder_add(project=project, by=owner, user=alice)
    seq = first.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq").first().seq
    label = book.labels.get()
    annotation.apply(project=project, user=alice, action={"op": "label", "session": first.pk, "seq": seq,
                                                           "label": label.pk})
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, base, "owner", "owner-pass-123")

    # Add the second session through the picker, filtered by title.
    page.goto(f"{base}/research/projects/{project.pk}/")
    page.click("#add-sessions")
    page.fill("input[name=q]", "Second")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("input[name=sessions]")).to_have_count(1)
    page.check(f"input[name=sessions][value='{second.pk}']")
    assert violations(page) == []  # the record starts afresh with each page
    page.shots("add-sessions")
    page.get_by_role("button", name="Add the checked sessions").click()
    expect(page.locator("main")).to_contain_text("Added 1 session; its 1 coder(s) can code them now.")
    expect(page.locator(f"#session-{second.pk}")).to_be_visible()

    # The coder's confirmation counts what goes, then the removal.
    row = page.locator(f"#coder-{Coder.objects.get(user=alice).pk}")
    row.get_by_text("Remove…").click()
    expect(row.locator(".confirm-panel")).to_contain_text("This deletes their 1 annotation and 1 reviewed mark")
    assert violations(page) == []
    page.shots("confirm-coder")
    row.get_by_role("button", name="Remove alice").click()
    expect(page.locator("main")).to_contain_text("Removed alice: deleted 1 annotation, 1 reviewed mark")
    expect(page.locator("#coders")).to_contain_text("No coders yet.")

    # Take the first session out; the last one left cannot go.
    row = page.locator(f"#session-{first.pk}")
    row.get_by_text("Remove…").click()
    row.get_by_role("button", name=re.compile("Remove session")).click()
    expect(page.locator("main")).to_contain_text(f"Took session #{first.pk} out of the project")
    expect(page.locator(f"#session-{second.pk}")).to_contain_text("A project keeps at least one session.")
    page.shots("one-session-left")
    assert violations(page) == []
    assert list(project.sessions.values_list("pk", flat=True)) == [second.pk]
