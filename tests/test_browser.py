"""The app in a real browser: Chromium (Debian's) driven by Playwright against
daphne and a real Celery worker running offline scripted agents.

Each test logs in through the login page and drives a session of its own;
screenshots of every step land in tests/artifacts/screenshots/.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from collab.live.fragments import dom_key
from collab.sessions import services
from collab.sessions.models import Event, Session
from collab.teams.models import Team
from collab.teams.presets import PRESETS

pytest.register_assert_rewrite("tests.browser")  # it is a plugin too (below): rewrite it before the import

from tests.browser import (  # noqa: E402
    expect_status,
    log_in,
    session_id_from,
    stream_events,
    wait_connected,
    wait_for_event,
)
from tests.engine_helpers import ROLES as TRIO  # noqa: E402
from tests.engine_helpers import make_team, wait_until  # noqa: E402

pytest_plugins = ["tests.browser"]  # the fixtures: live_server_url, slow_worker, chromium, page, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settle")]

PASSWORD = "owner-pass-123"  # the conftest `owner` fixture's
ROLES = [name for name, _, _ in TRIO]  # analyst, coder, tester: round robin in this order
XSS = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'


def start_demo(page: Page, base: str) -> int:
    log_in(page, base, "owner", PASSWORD)
    page.click("#demo-start")
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    wait_connected(page)
    return session_id_from(page)


def start_trio(page: Page, base: str, owner) -> int:
    """A round-robin trio on scripted agents, made by the services (the
    launcher form has a test of its own); the page opened on it."""
    log_in(page, base, "owner", PASSWORD)
    session = services.session_create(owner=owner, team=make_team(owner), provider="scripted", max_turns=9,
                                      protocol="round_robin", protocol_params={"rounds": 3},
                                      brief="Write a function that returns the n-th Fibonacci number.")
    services.session_start(session=session, user=owner)
    page.goto(f"{base}/sessions/{session.pk}/")
    wait_connected(page)
    return session.pk


def round_robin_preset() -> str:
    """A preset of plain turn-taking (no scenario), whatever the presets are today."""
    return next(k for k, p in PRESETS.items() if p.protocol == "round_robin" and not p.scenario and len(p.roles) >= 3)


def streaming_bubble(page: Page, max_chars: int = 80, timeout: float = 15_000) -> dict:
    """A reply being typed that has some text but is far from done."""
    return page.wait_for_function(
        """max => {
             for (const b of document.querySelectorAll('#stream .msg.streaming .msg-body')) {
               const n = b.textContent.length;
               if (n > 0 && n < max) return {id: b.id, text: b.textContent};
             }
             return null;
           }""", arg=max_chars, timeout=timeout).json_value()


def body_text(page: Page, element_id: str) -> str | None:
    return page.evaluate("id => { const b = document.getElementById(id); return b ? b.textContent : null; }",
                         element_id)


def build_team_from_preset(page: Page, base: str, owner, preset_key: str) -> Team:
    """The team builder: the "Use this preset" button on the preset's card."""
    preset = PRESETS[preset_key]
    page.goto(f"{base}/teams/")
    expect(page.get_by_role("heading", name="Start from a preset")).to_be_visible()
    # The card of the preset: the nearest ancestor of its heading that holds one button.
    card = page.locator("article, li, section").filter(
        has=page.get_by_role("heading", name=preset.title, exact=True)).filter(
        has=page.get_by_role("button", name="Use this preset")).last
    expect(card.get_by_role("button", name="Use this preset")).to_have_count(1)
    card.get_by_role("button", name="Use this preset").click()
    page.wait_for_load_state()
    page.shots("made-from-preset")
    team = Team.objects.filter(owner=owner, preset=preset_key).order_by("-pk").first()
    assert team is not None, f"no team made from the preset {preset_key!r}"
    assert list(team.roles.order_by("order").values_list("name", flat=True)) == [r["name"] for r in preset.roles]
    return team


def inject(page: Page, text: str) -> None:
    page.fill("#inject-text", text)
    page.locator("form.inject button[type=submit]").click()


def pause_between_turns(page: Page, session_id: int) -> None:
    """Pause, and wait until the reply in flight has been cut off and logged."""
    page.click("button[data-action=pause]")
    expect_status(page, "paused")
    wait_until(lambda: Session.objects.get(pk=session_id).lease_token == "", what="the turn in flight to end")
    expect(page.locator("#stream .msg.streaming")).to_have_count(0)


def assert_each_event_once(page: Page, session_id: int) -> list[dict]:
    events = stream_events(page)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), f"duplicated events: {sorted(i for i in ids if ids.count(i) > 1)}"
    seqs = [e["seq"] for e in events]
    last = Session.objects.get(pk=session_id).last_seq
    assert seqs == list(range(1, last + 1)), f"seqs on the page {seqs}, the log has 1..{last}"
    return events


# --- the steps -------------------------------------------------------------------------


def test_log_in_through_the_login_page(page, live_server_url, owner):
    base = live_server_url
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.fill("#id_username", "owner")
    page.fill("#id_password", "wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    page.shots("wrong-password")

    log_in(page, base, "owner", PASSWORD)
    expect(page.locator(".user-menu .user-label")).to_contain_text("owner")
    expect(page.locator("#demo-start")).to_be_visible()
    page.shots("home")


def test_team_from_preset_launch_and_reload_mid_session(page, live_server_url, owner):
    base = live_server_url
    log_in(page, base, "owner", PASSWORD)
    preset = PRESETS[round_robin_preset()]
    roles = [r["name"] for r in preset.roles]
    team = build_team_from_preset(page, base, owner, preset.key)
    page.goto(f"{base}/teams/")
    expect(page.locator("main")).to_contain_text(team.name)
    page.shots("team-list")

    # The launcher, prefilled from the team's preset.
    page.goto(f"{base}/sessions/new/?team={team.pk}")
    expect(page.locator("input[name=protocol][value=round_robin]")).to_be_checked()
    page.fill("#id_title", "Browser launch")
    page.select_option("#id_provider", "scripted")
    page.fill("#id_max_turns", str(len(roles)))
    page.shots("launcher")
    page.get_by_role("button", name="Create and start").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    session_id = session_id_from(page)
    expect(page.locator("h1.page-title")).to_have_text("Browser launch")
    wait_connected(page)

    # Reload while a reply is being typed, after at least one finished message.
    wait_for_event(page, lambda e: e["who"] in roles, "an agent message")
    streaming_bubble(page, max_chars=10_000)
    assert Session.objects.get(pk=session_id).status == "running"
    page.shots("before-reload")
    page.reload()
    wait_connected(page)
    page.shots("after-reload")

    expect_status(page, "finished", timeout=40_000)
    expect(page.locator("#stream article[id^=ev-]")).to_have_count(Session.objects.get(pk=session_id).last_seq)
    events = assert_each_event_once(page, session_id)
    assert [e["who"] for e in events if e["who"] in roles] == roles  # one round, in order
    expect(page.locator("#stream .msg.streaming")).to_have_count(0)  # every bubble became its message
    expect(page.locator(".controls [data-action]:visible")).to_have_count(0)  # nothing left to control
    expect(page.locator("form.inject")).to_be_hidden()
    page.shots("finished")


def test_demo_tokens_appear_progressively(page, live_server_url, owner):
    base = live_server_url
    session_id = start_demo(page, base)
    expect(page.locator(".notice-scripted")).to_be_visible()

    first = streaming_bubble(page)
    page.shots("streaming")
    page.wait_for_timeout(600)
    second = body_text(page, first["id"])
    assert second is not None, "the reply finished within 0.6 s: not streamed"
    assert len(second) > len(first["text"]) and second.startswith(first["text"]), (first, second)
    page.shots("streaming-later")

    # The bubble is replaced by the finished message, which holds the streamed text.
    turn, key = re.fullmatch(r"live-body-(\d+)-(.+)", first["id"]).groups()
    expect(page.locator(f"#live-{turn}-{key}")).to_have_count(0, timeout=20_000)
    final = next(e for e in Event.objects.filter(session_id=session_id, kind="message", turn_index=int(turn))
                 if dom_key(e.actor) == key)
    assert final.payload["text"].startswith(second)
    message = wait_for_event(page, lambda e: e["seq"] == final.seq, f"event #{final.seq}")
    assert " ".join(second.split()[:5]) in " ".join(message["text"].split())


def test_pause_and_resume(page, live_server_url, owner):
    base = live_server_url
    session_id = start_trio(page, base, owner)
    streaming_bubble(page)
    pause_between_turns(page, session_id)
    wait_for_event(page, lambda e: "owner paused the session." in e["text"], "the pause intervention")
    expect(page.locator("#stream article.msg.interrupted")).to_have_count(1)  # the reply in flight, cut off
    expect(page.locator("button[data-action=pause]")).to_be_hidden()
    expect(page.locator("button[data-action=step]")).to_be_visible()
    messages_when_paused = Event.objects.filter(session_id=session_id, kind="message").count()
    page.shots("paused")
    page.wait_for_timeout(1000)
    assert Event.objects.filter(session_id=session_id, kind="message").count() == messages_when_paused
    assert Session.objects.get(pk=session_id).status == "paused"

    resume = page.locator("button[data-action=resume]")
    expect(resume).to_be_visible()
    resume.click()
    expect_status(page, "running")
    wait_for_event(page, lambda e: "owner resumed the session." in e["text"], "the resume intervention")
    streaming_bubble(page, max_chars=10_000)  # the agents talk again
    page.shots("resumed")
    expect(page.locator("button[data-action=pause]")).to_be_visible()


def test_inject_is_answered_by_the_next_agent(page, live_server_url, owner):
    base = live_server_url
    session_id = start_trio(page, base, owner)
    streaming_bubble(page)
    pause_between_turns(page, session_id)
    note = "Please keep the budget under 200 dollars."
    inject(page, note)
    injected = wait_for_event(page, lambda e: note in e["text"] and "facilitator" in e["text"], "the note")
    expect(page.locator("#inject-text")).to_have_value("")
    expect(page.locator("#timeline")).to_contain_text("owner spoke to everyone")
    page.click("button[data-action=resume]")
    answer = wait_for_event(page, lambda e: e["seq"] > injected["seq"] and e["who"] in ROLES,
                            "the next agent message")
    assert "Responding to the facilitator's note" in answer["text"], answer
    assert "keep the budget under 200 dollars" in answer["text"]
    page.locator(f"#{answer['id']}").scroll_into_view_if_needed()
    page.shots("answered")
    assert Event.objects.filter(session_id=session_id, actor="user:owner", kind="message").count() == 1


def test_inject_while_an_agent_speaks_is_answered(page, live_server_url, owner):
    base = live_server_url
    start_trio(page, base, owner)
    streaming_bubble(page)
    inject(page, "Please keep the budget under 200 dollars.")
    injected = wait_for_event(page, lambda e: "under 200 dollars" in e["text"], "the note")
    # The reply in flight was composed before the note; one of the next two should answer it.
    later = []
    for _ in range(2):
        later.append(wait_for_event(
            page, lambda e: e["seq"] > max([injected["seq"]] + [x["seq"] for x in later]) and e["who"] in ROLES,
            "an agent message after the note"))
    page.shots("after-note")
    assert any("Responding to the facilitator's note" in e["text"] for e in later), later


def test_take_a_seat_and_speak_as_the_teammate(page, live_server_url, owner):
    base = live_server_url
    session_id = start_trio(page, base, owner)
    role = ROLES[2]  # the tester speaks third: time enough to sit down
    page.locator("ul.seats li", has_text=role).get_by_role("button", name="Take seat").click()
    wait_for_event(page, lambda e: f"owner took {role}'s seat." in e["text"], "the seat intervention")
    composer = page.locator("#composer")  # swapped in over the socket, no reload
    expect(composer).to_be_visible()
    expect(composer).to_contain_text(f"You play {role}")
    expect(page.locator("ul.seats li", has_text=role)).to_contain_text("played by owner")
    page.shots("seated")

    expect_status(page, "awaiting_human", timeout=30_000)
    expect(page.locator("#session-status")).to_have_text("Awaiting a human")
    assert Session.objects.get(pk=session_id).state["awaiting"]["roles"] == [role]
    page.shots("my-turn")
    said = "Cover n = 0 and negative n in the tests too."
    page.fill("#say-text", said)
    composer.get_by_role("button", name=f"Send as {role}").click()
    mine = wait_for_event(page, lambda e: e["who"] == role and said in e["text"], "my message")
    assert "played by owner" in mine["text"]
    expect_status(page, "running", "finished")
    reply = wait_for_event(page, lambda e: e["seq"] > mine["seq"] and e["who"] in ROLES,
                           "the next agent's message")
    assert f"Thanks, {role}" in reply["text"] and "Cover n = 0" in reply["text"]
    page.shots("answered")


def test_injected_markup_is_shown_as_text(page, live_server_url, owner):
    base = live_server_url
    session_id = start_trio(page, base, owner)
    streaming_bubble(page)
    pause_between_turns(page, session_id)
    inject(page, XSS)
    injected = wait_for_event(page, lambda e: "window.__xss=2" in e["text"], "the injected markup")
    assert XSS in injected["text"]
    # An agent quotes it back, streamed token by token and then as a message.
    page.click("button[data-action=resume]")
    page.wait_for_function("""() => [...document.querySelectorAll('#stream .msg.streaming .msg-body')]
                                   .some(b => b.textContent.includes('onerror="window.__xss=1"'))""")
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.shots("streaming-quote")
    wait_for_event(page, lambda e: e["seq"] > injected["seq"] and "Responding to the facilitator" in e["text"]
                   and "window.__xss=1" in e["text"], "an agent quoting the markup")
    page.shots("live")

    def no_payload_ran():
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("main img, main script").count() == 0

    no_payload_ran()
    page.reload()  # rendered by the server this time
    wait_connected(page)
    expect(page.locator(f"#{injected['id']} .msg-body")).to_contain_text(XSS)
    expect(page.locator("#timeline")).to_contain_text("owner spoke to everyone")
    no_payload_ran()
    page.goto(f"{base}/sessions/{session_id}/transcript/")
    expect(page.locator("main")).to_contain_text(XSS)
    no_payload_ran()
    page.shots("transcript")


def status_of_page(page: Page) -> str:
    return page.locator("#session-status").get_attribute("data-status") or ""


def months_played(session_id: int) -> int:
    return Event.objects.filter(session_id=session_id, kind="scenario_state").count()


def test_fishery_preset_chart_updates_each_month(page, live_server_url, owner):
    base = live_server_url
    log_in(page, base, "owner", PASSWORD)
    team = build_team_from_preset(page, base, owner, "fishery_village")
    page.goto(f"{base}/sessions/new/?team={team.pk}")
    expect(page.locator("input[name=scenario][value=fishery]")).to_be_checked()
    # Short discussions keep the months quick with slow scripted typing.
    page.fill("#id_scenario-fishery-max_utterances", "1")
    page.uncheck("#id_scenario-fishery-reflect")
    page.select_option("#id_provider", "scripted")
    page.get_by_role("button", name="Create and start").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    session_id = session_id_from(page)
    wait_connected(page)
    # Record every chart the page swaps in, as it happens.
    page.evaluate("""() => {
        window.__points = [];
        document.body.addEventListener("htmx:oobAfterSwap", () => {
            const chart = document.getElementById("scenario-chart");
            const points = chart ? Number(chart.dataset.points) : 0;
            if (window.__points[window.__points.length - 1] !== points) window.__points.push(points);
        });
    }""")
    chart = page.locator("#scenario-chart")
    expect_status(page, "finished", timeout=90_000)
    page.shots("finished")
    seen = [p for p in page.evaluate("window.__points") if p]
    months = months_played(session_id)
    assert seen == list(range(seen[0], months + 1)), seen  # one update a month, none skipped
    assert months >= 3
    assert chart.locator("polyline").count() == 2  # lake level and total catch
    session = Session.objects.get(pk=session_id)
    assert session.scenario == "fishery" and session.status == "finished"
    expect(page.locator("#scenario-panel")).to_contain_text("Survival time")
    page.goto(f"{base}/sessions/{session_id}/transcript/")
    expect(page.locator("#scenario-chart")).to_have_attribute("data-points", str(months))
    page.shots("replay")
