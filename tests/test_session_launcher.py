"""The New session page (issue 10 item 11, issue 9 item 7): cards, parameter
fields generated from each plug-in's schema, an advanced JSON mode, and inline
errors naming the field for every bad input, never a 500."""

import json
import re
from html import unescape

import pytest

from collab.engine import scenarios
from collab.engine.protocols import PROTOCOLS
from collab.engine.topologies import TOPOLOGIES
from collab.sessions.models import Session
from collab.teams.models import Team
from tests.engine_helpers import make_team


@pytest.fixture
def team(owner):
    return make_team(owner)


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def base_post(team, /, **extra) -> dict:
    data = {"team": team.pk if team else None, "protocol": "round_robin", "topology": "everyone", "provider": "scripted",
            "max_turns": 12, "seed": 0, "protocol-round_robin-rounds": 3}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(html: str, name: str) -> str:
    """The error text shown in the field block of the input named `name`."""
    match = re.search(rf'<div class="field[^"]*has-error[^"]*">(?:(?!<div class="field).)*?name="{re.escape(name)}"'
                      r'(?:(?!<div class="field).)*', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(0))) if match else ""


def textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea name="{re.escape(name)}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return unescape(match.group(1))


def test_every_plugin_parameter_has_a_schema_entry():
    plugins = [p for p in PROTOCOLS.all() if p.key != "scenario"] + scenarios.all_scenarios()
    for plugin in plugins:
        assert [p.name for p in plugin.params_schema] == list(plugin.default_params), plugin.key
    for topology in TOPOLOGIES.all():
        assert all(p.kind for p in topology.params_schema)


def test_page_offers_cards_and_real_fields_with_ranges_and_valid_json(logged_in, team):
    html = logged_in.get("/sessions/new/").content.decode()
    for name in ("team", "protocol", "scenario", "topology"):
        assert f'type="radio" name="{name}"' in html
    assert 'href="?preset=fishery_village"' in html  # presets as cards
    # Generated fields: a number with its range, a choice, a checkbox, help.
    assert re.search(r'<input type="number" name="scenario-fishery-months"[^>]*min="1"[^>]*max="120"', html) or \
        re.search(r'name="scenario-fishery-months"[^>]*max="120"[^>]*min="1"', html)
    assert '<select name="scenario-maze-mode"' in html
    assert 'type="checkbox" name="scenario-fishery-reflect"' in html
    assert "Tons of fish in the lake at the start." in html
    # The advanced boxes hold valid JSON, not Python dicts.
    assert json.loads(textarea(html, "protocol_params")) == {"rounds": 3}
    assert "True" not in textarea(html, "protocol_params") and "'" not in textarea(html, "protocol_params")


def test_fields_make_the_session(logged_in, team):
    response = logged_in.post("/sessions/new/", base_post(team, **{"protocol": "debate_vote", "start": "1",
                              "protocol-debate_vote-rounds": 1, "protocol-debate_vote-options": "ship, wait, scrap",
                              "protocol-round_robin-rounds": "garbage in a hidden card"}))
    session = Session.objects.get()
    assert response["Location"] == f"/sessions/{session.pk}/"
    assert session.protocol_params == {"rounds": 1, "options": ["ship", "wait", "scrap"]}
    assert session.status == "running"


def test_scenario_fields_and_strategy(logged_in, team):
    logged_in.post("/sessions/new/", base_post(team, scenario="fishery", **{
        "scenario-fishery-months": 3, "scenario-fishery-max_utterances": 1, "scenario-fishery-initial_stock": 80,
        "scenario-fishery-capacity": 100, "scenario-fishery-collapse_threshold": 5,
        "scenario-fishery-rationing": "stochastic", "scenario-fishery-discussion": "open",
        "scenario-fishery-strategy": "greedy"}))  # reflect (and the other checkboxes) unchecked: False
    session = Session.objects.get()
    assert session.scenario == "fishery"
    assert session.scenario_params == {**scenarios.get("fishery").default_params, "months": 3, "max_utterances": 1,
                                       "initial_stock": 80, "reflect": False}
    assert session.protocol_params["strategies"] == "greedy"


def test_advanced_json_mode(logged_in, team):
    logged_in.post("/sessions/new/", base_post(team, advanced="on", protocol_params='{"rounds": 1}',
                                               **{"protocol-round_robin-rounds": 7}))
    assert Session.objects.get().protocol_params["rounds"] == 1


@pytest.mark.parametrize("field, value, says", [
    ("token_budget", "99999999999", "less than or equal to"),
    ("seed", str(2**63), "less than or equal to"),
    ("seed", "-1", "greater than or equal to"),
    ("max_turns", "abc", "whole number"),
    ("protocol-round_robin-rounds", "0", "greater than or equal to 1"),
    ("protocol-round_robin-rounds", "1001", "less than or equal to 1000"),
])
def test_out_of_range_numbers_are_inline_errors(logged_in, team, field, value, says):
    response = logged_in.post("/sessions/new/", base_post(team, **{field: value}))
    assert response.status_code == 200
    assert says in field_errors(response.content.decode(), field)
    assert not Session.objects.exists()


@pytest.mark.parametrize("box, data", [
    ("protocol_params", "[" * 40_000 + "]" * 40_000),  # json.loads raises RecursionError
    ("protocol_params", '{"a": ' * 30 + "1" + "}" * 30),  # parses, but nests past the limit
    ("scenario_params", '{"months": ' + "[" * 5000 + "]" * 5000 + "}"),
])
def test_deeply_nested_json_is_an_inline_error(logged_in, team, box, data):
    extra = {"scenario": "fishery"} if box == "scenario_params" else {}
    response = logged_in.post("/sessions/new/", base_post(team, advanced="on", **{box: data}, **extra))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nested too deeply" in field_errors(html, box)
    assert not Session.objects.exists()


def test_engine_errors_land_on_the_field_they_name(logged_in, team):
    response = logged_in.post("/sessions/new/", base_post(team, protocol="moderator", **{
        "protocol-moderator-moderator": "nobody", "protocol-moderator-speeches": 4}))
    assert response.status_code == 200
    assert "is not a role" in field_errors(response.content.decode(), "protocol-moderator-moderator")
    response = logged_in.post("/sessions/new/", base_post(team, human_seats="ghost"))
    assert "no role named ghost" in field_errors(response.content.decode(), "human_seats")
    response = logged_in.post("/sessions/new/", base_post(team, scenario="fishery", **{
        "scenario-fishery-initial_stock": 500, "scenario-fishery-capacity": 100}))
    assert "initial_stock" in field_errors(response.content.decode(), "scenario-fishery-initial_stock")
    assert not Session.objects.exists()


@pytest.mark.parametrize("query", ["abc", "99999", "1e5", "-1", "9" * 30, "%00"])
def test_a_bad_team_in_the_address_is_an_inline_error(logged_in, team, query):
    response = logged_in.get(f"/sessions/new/?team={query}")
    assert response.status_code == 200
    assert "You have no team" in unescape(response.content.decode())


def test_someone_elses_team_cannot_be_used(logged_in, team, outsider):
    theirs = make_team(outsider, name="Theirs")
    response = logged_in.post("/sessions/new/", base_post(team, team=theirs.pk))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Session.objects.exists()


def test_a_preset_prefills_and_makes_its_team_on_create(logged_in, owner):
    html = logged_in.get("/sessions/new/?preset=courtroom").content.decode()
    assert 'value="preset:courtroom" checked' in html
    assert re.search(r'type="radio" name="protocol" value="debate_vote" checked', html)
    assert 'value="guilty, not guilty"' in html
    response = logged_in.post("/sessions/new/", base_post(None, team="preset:courtroom", protocol="debate_vote", **{
        "protocol-debate_vote-rounds": 1, "protocol-debate_vote-options": "guilty, not guilty"}))
    session = Session.objects.get()
    assert response.status_code == 302 and session.team.preset == "courtroom"
    assert [r["name"] for r in session.team_snapshot["roles"]][0] == "prosecutor"
    # A failed create leaves no stray team behind.
    logged_in.post("/sessions/new/", base_post(None, team="preset:courtroom", human_seats="ghost"))
    assert Team.objects.filter(owner=owner, preset="courtroom").count() == 1


def test_an_unknown_preset_in_the_address_is_ignored(logged_in, team):
    response = logged_in.get("/sessions/new/?preset=nope")
    assert response.status_code == 200 and 'aria-current="true"' not in response.content.decode()
