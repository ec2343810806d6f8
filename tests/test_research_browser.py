"""The workbench in Chromium: two annotators code the same session with the
keyboard (a span included), the owner reveals, adjudicates a disagreement,
and the agreement page shows kappa and alpha equal to scikit-learn's and
krippendorff's on the same labels. And the replay's controls."""

import re

import krippendorff
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from sklearn.metrics import cohen_kappa_score

from collab.research.codebooks import codebook_save
from collab.research.models import Adjudication, Annotation, Project

pytest.register_assert_rewrite("tests.browser")  # it is a plugin too: rewrite it before the import

from tests.browser import SCREENSHOTS, log_in  # noqa: E402
from tests.research_helpers import run_session  # noqa: E402

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]


def shot(page: Page, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"research-{step}.png"))


def code_units(page: Page, keys: list[str]) -> None:
    """Press each unit's keys, then j to the next one, waiting until saved."""
    for key in keys:
        if key:
            page.keyboard.press(key)
            expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")
        page.keyboard.press("j")
        expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")


def select_text(page: Page, unit_index: int, start: int, end: int) -> str:
    """Select characters [start, end) of a unit's message, as a mouse drag would."""
    return page.evaluate("""([i, start, end]) => {
        const text = document.querySelectorAll('.unit')[i].querySelector('.unit-text[data-span]');
        const node = text.firstChild;
        const range = document.createRange();
        range.setStart(node, start); range.setEnd(node, end);
        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        return sel.toString();
    }""", [unit_index, start, end])


def test_two_annotators_code_owner_reveals_adjudicates_and_agreement_matches_the_packages(
        page, live_server_url, owner):
    base = live_server_url
    session = run_session(owner, pad_to=30, title="Browser coded")
    book = codebook_save(owner=owner, codebook=None, name="Stance", labels=[
        {"name": "supports", "color": "#16a34a", "definition": "Backs the proposal"},
        {"name": "opposes", "color": "#dc2626", "definition": "Argues against it"}])
    for name in ("alice", "bob"):
        User.objects.create_user(name, password=f"{name}-pass-123")

    # The owner builds the project: session from the list, codebook, coders by name and by link.
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/research/")
    page.click("#new-project")
    page.fill("#p-name", "Stance study")
    page.select_option("#p-codebook", label=f"Stance (v{book.version})")
    page.check(f"input[name=sessions][value='{session.pk}']")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/research/projects/\d+/$"))
    project = Project.objects.get()
    page.fill("#coder-username", "alice")
    page.get_by_role("button", name="Add coder").click()
    expect(page.locator("main")).to_contain_text("alice codes for this project now")
    invite = page.input_value("#invite-link")
    page.shots("project")

    # alice: supports, supports, a span labelled opposes, then none-applies.
    page.context.clear_cookies()
    log_in(page, base, "alice", "alice-pass-123")
    page.goto(f"{base}/research/projects/{project.pk}/")
    page.click("#start-coding")
    expect(page.locator("body")).to_have_attribute("data-code-ready", "1")
    messages = page.locator(".unit:has(.unit-text[data-span])")
    span_unit = page.locator(".unit").evaluate_all(
        "(units) => units.findIndex((u, i) => i >= 2 && u.querySelector('.unit-text[data-span]')"
        " && u.querySelector('.unit-text').textContent.length > 12)")
    assert span_unit >= 2 and messages.count() > 3
    code_units(page, ["1", "1"])
    # move to the message for the span
    for _ in range(span_unit - 2):
        page.keyboard.press("j")
    expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")
    picked = select_text(page, span_unit, 0, 10)
    page.keyboard.press("2")
    expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")
    expect(page.locator(".unit").nth(span_unit).locator("mark")).to_have_text(picked)
    page.keyboard.press("n")
    page.fill("#note-text", "hedged")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".unit").nth(span_unit).locator(".unit-note")).to_have_text("Note: hedged")
    # a slip, undone
    page.keyboard.press("j")
    page.keyboard.press("1")
    expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")
    page.keyboard.press("u")
    expect(page.locator("#save-state")).to_have_attribute("data-pending", "0")
    expect(page.locator(".unit").nth(span_unit + 1).locator(".unit-labels .label-chip")).to_have_count(0)
    span = Annotation.objects.get(coder__user__username="alice", start__isnull=False)
    assert span.quote == picked and (span.start, span.end) == (0, 10)
    page.shots("alice-coded")

    # bob joins by the link and codes blind: he does not see alice's labels.
    page.context.clear_cookies()
    log_in(page, base, "bob", "bob-pass-123")
    page.goto(invite)
    page.click("#join")
    page.click("#start-coding")
    expect(page.locator("body")).to_have_attribute("data-code-ready", "1")
    expect(page.locator(".chip-other")).to_have_count(0)
    code_units(page, ["1", "2"] + [""] * (span_unit - 2) + ["2"])
    page.shots("bob-coded")

    # The owner reveals, adjudicates the one disagreement, and reads the agreement.
    page.context.clear_cookies()
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/research/projects/{project.pk}/")
    page.click("#reveal")
    expect(page.locator("#reveal")).to_have_text("Hide labels again (blind)")
    page.goto(f"{base}/research/projects/{project.pk}/adjudicate/")
    expect(page.locator(".disagreement")).to_have_count(1)
    card = page.locator(".disagreement").first
    expect(card).to_contain_text("alice")
    expect(card).to_contain_text("bob")
    card.get_by_label("supports").check()
    card.get_by_role("button", name="Record gold label").click()
    expect(page.locator(".disagreement.is-decided")).to_have_count(1)
    assert [lab.name for lab in Adjudication.objects.get().labels.all()] == ["supports"]
    page.shots("adjudicated")

    page.goto(f"{base}/research/projects/{project.pk}/agreement/")
    expect(page.locator("#span-rule")).to_contain_text("any span inside it")
    shown_kappa = float(page.locator("#overall td.kappa").first.get_attribute("data-value"))
    shown_alpha = float(page.locator("#overall .alpha").get_attribute("data-value"))
    page.shots("agreement")

    # The reference packages on the same labels, read back from the database.
    def labels_of(name):
        values = {}
        for seq in set(Annotation.objects.filter(coder__user__username=name).values_list("seq", flat=True)) | set(
                Project.objects.get().coders.get(user__username=name).reviewed.values_list("seq", flat=True)):
            values[seq] = ",".join(sorted(Annotation.objects.filter(coder__user__username=name, seq=seq)
                                          .values_list("label__name", flat=True))) or "none"
        return values

    alice, bob = labels_of("alice"), labels_of("bob")
    both = sorted(set(alice) & set(bob))
    assert len(both) >= 3
    reference_kappa = cohen_kappa_score([alice[s] for s in both], [bob[s] for s in both])
    units = sorted(set(alice) | set(bob))
    categories = sorted(set(alice.values()) | set(bob.values()))
    data = [[categories.index(v[s]) if s in v else float("nan") for s in units] for v in (alice, bob)]
    reference_alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert shown_kappa == pytest.approx(reference_kappa, abs=1e-9)
    assert shown_alpha == pytest.approx(reference_alpha, abs=1e-9)
    expect(page.locator("#overall td.kappa").first).to_have_text(f"{reference_kappa:.4f}")
    expect(page.locator("#overall .alpha")).to_have_text(f"{reference_alpha:.4f}")


def test_replay_plays_steps_and_scrubs_with_the_position_in_the_url(page, live_server_url, owner):
    base = live_server_url
    session = run_session(owner, pad_to=400, title="Replayed")
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/research/sessions/{session.pk}/replay/?at=10")
    expect(page.locator("#replay")).to_have_attribute("data-ready", "1")
    expect(page.locator("#ev-10")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#ev-11")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?at=11$"))
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#ev-11")).to_be_hidden()
    expect(page.locator("#replay-at")).to_have_text("10")
    page.locator("#replay-speed").fill("20")
    expect(page.locator("#replay-speed-value")).to_have_text("20×")
    page.click("#replay-play")
    expect(page.locator("#replay-at")).not_to_have_text("10", timeout=3000)
    page.keyboard.press(" ")
    at = int(page.locator("#replay-at").text_content())
    assert at > 10
    page.locator("#replay-scrub").fill("350")
    page.locator("#replay-scrub").dispatch_event("change")
    expect(page.locator("#ev-350")).to_be_visible()
    expect(page.locator("#ev-351")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"\?at=350$"))
    page.locator(".scrubber-marks .mark-intervention").first.dispatch_event("click")
    expect(page).not_to_have_url(re.compile(r"\?at=350$"))
    page.keyboard.press("End")
    expect(page.locator(f"#ev-{session.last_seq}")).to_be_visible()
    shot(page, "replay-end")  # the viewport only: a full-page shot of 400 events is too slow to take
    page.set_viewport_size({"width": 390, "height": 800})
    shot(page, "replay-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
