"""Scenario actions render as content, never as dict text (issue 10 item 13),
from the payloads the scenarios really produce."""

import re

import pytest

from collab.engine import scenarios
from collab.engine.scenarios.base import play_scripted
from collab.live import actions
from collab.live.fragments import event_oob, render_event, scenario_panel

ROLES = {"Project Manager": {"name": "Project Manager", "color": "#112233"}}


def event(kind: str, payload: dict, actor: str = "Project Manager", seq: int = 7) -> dict:
    return {"seq": seq, "kind": kind, "actor": actor, "audience": None, "payload": payload, "turn_index": 3,
            "created_at": "2026-01-01T00:00:00"}


def no_dict_text(html: str) -> None:
    text = re.sub(r"<[^>]+>", "", html)
    assert not re.search(r"\{\s*(&#x27;|')", text) and "&#x27;:" not in text, text


def reports_of(key: str, **params) -> list[dict]:
    sc = scenarios.get(key)
    names = [r["name"] for r in sc.default_roles] + (["Faculty Judge"] if key == "design_review" else [])
    _, reports = play_scripted(sc, names, sc.strategies[0], params=params or None)
    return reports


def test_a_proposal_is_a_document_with_its_sections():
    report = reports_of("design_review", judge_role="Faculty Judge")[0]
    html = render_event(event("action", {"action": report["actions"]["Project Manager"]}), ROLES)
    assert "submits the proposal" in html and 'class="proposal-doc"' in html
    for section in report["actions"]["Project Manager"]["sections"]:
        assert f"<h4>{section.replace('&', '&amp;')}</h4>" in html
    no_dict_text(html)


def test_judge_scores_are_a_table():
    report = reports_of("design_review", judge_role="Faculty Judge")[1]
    html = render_event(event("action", {"action": report["actions"]["Faculty Judge"]}, "Faculty Judge"), ROLES)
    assert 'class="table scores-table"' in html and "scores the proposal" in html
    assert re.search(r'<th scope="row">Problem definition</th><td class="num">2</td>', html)
    assert "Scripted judge" in html
    no_dict_text(html)


@pytest.mark.parametrize("key, expect", [
    ("fishery", r"<dt>catch</dt><dd>10</dd>"),
    ("donor", r"<dt>give fraction</dt><dd>60%</dd>"),
    ("public_goods", r"<dt>contribution</dt><dd>10</dd>"),
    ("maze", r"<dt>move</dt><dd>N</dd>.*class=\"action-message\">I&#x27;d go N"),
    ("ranking", r'<ol class="ranking"><li>'),
])
def test_moves_catches_donations_and_rankings_are_cards(key, expect):
    report = reports_of(key)[0]
    actor, action = next(iter(report["actions"].items()))
    html = render_event(event("action", {"action": action}, actor), {})
    assert re.search(expect, html, re.S), html
    no_dict_text(html)


def test_votes_are_cards():
    html = render_event(event("vote", {"vote": "not guilty", "reason": "reasonable doubt"}, "judge"), {})
    assert "vote-card" in html and ">not guilty</span> reasonable doubt" in html


def test_a_months_catches_are_one_row_live_and_in_the_panel():
    from collab.engine.protocols.scenario import ScenarioProtocol

    sc = scenarios.get("fishery")
    names = [r["name"] for r in sc.default_roles]
    state = sc.initial_state(sc.params({}), names, 0)
    for _ in range(3):
        while (step := sc.next_step(state))["phase"] != "act":
            state = (sc.record_talk(state, step["actors"][0], "") if step["phase"] == "talk"
                     else sc.record_reflection(state, step["actors"][0], ""))
        state, report = sc.apply(state, {n: {"catch": 10} for n in names}, sc.step_rng(state))
    payload = ScenarioProtocol.snapshot(sc, state, report)
    row = actions.round_row(payload)
    assert row["round"] == 3 and row["actions"] == [(n, "10") for n in names]
    assert ("stock after", "100") in row["figures"] and ("collapsed", "no") in row["figures"]
    live = event_oob(event("scenario_state", payload, "system"), {})
    assert '<ol hx-swap-oob="beforeend:#round-rows"><li class="round-row" data-round="3">' in live
    assert 'id="scenario-live"' in live and "Fishery commons, round 3" in live
    no_dict_text(live)
    panel = scenario_panel(payload, [payload, payload])
    assert panel.count('<li class="round-row" data-round="3">') == 2 and 'id="round-rows"' in panel
