"""How a run ended: a run cut by its turn limit or budget says it was cut
short and its scenario scores are provisional; only the protocol's or the
scenario's own end counts as completed by its rules."""

import pytest

from collab.live import fragments
from collab.sessions import selectors, services
from collab.sessions.events import serialize
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset
from tests.engine_helpers import make_team, start, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def fishery(owner, scenario_params: dict | None = None, **overrides):
    """The fishery preset with five sustainable fishers: the lake survives every month played."""
    preset = PRESETS["fishery_village"]
    team = team_create_from_preset(preset_key=preset.key, owner=owner)
    params = {**preset.protocol_params, "strategies": "sustainable", "params": scenario_params or {}}
    return start(owner, team, protocol=preset.protocol, protocol_params=params, **overrides)


def final_event(session):
    return session.events.filter(kind="state").order_by("-seq").first()


def test_a_fishery_cut_by_max_turns_is_cut_short_with_provisional_scores(owner, worker, client):
    session = wait_for(fishery(owner, max_turns=16), timeout=120)
    assert session.status == "finished"
    metrics = selectors.latest_scenario_state(session)["metrics"]
    assert metrics["survived"] is True and 1 <= metrics["months_played"] < 12  # looks final; it is not
    assert final_event(session).payload["ended_by"] == "max_turns"
    assert session.end_reason == ("cut short: max turns reached (16) before the scenario ended; "
                                  "its scores are provisional")
    assert selectors.completed_by_rules(session) is False
    assert selectors.run_outcome(session) == {"ended": True, "ended_by": "max_turns", "completed_by_rules": False,
                                             "cut_short": True, "provisional": True}

    client.force_login(owner)
    for url in (f"/sessions/{session.pk}/", f"/sessions/{session.pk}/transcript/"):
        page = client.get(url).content.decode()
        outcome = page[page.index('id="run-outcome"'):]
        assert "hidden" not in outcome[:outcome.index(">")]
        assert "Cut short:</strong> the turn limit came before the scenario reached its end" in outcome
        assert "Its scores are provisional." in outcome
        panel = page[page.index('id="scenario-provisional"'):]
        assert "hidden" not in panel[:panel.index(">")] and "Provisional scores" in panel


def test_a_token_budget_cuts_a_plain_protocol_short(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol_params={"rounds": 50}, max_turns=100,
                             token_budget=60))
    assert final_event(session).payload["ended_by"] == "budget"
    assert session.end_reason.startswith("cut short: token budget spent (")
    assert session.end_reason.endswith("before the protocol ended")
    assert selectors.run_outcome(session)["provisional"] is False  # no scenario, no scores
    assert not selectors.completed_by_rules(session)


def test_a_run_that_ends_on_its_last_allowed_turn_completed_by_its_rules(owner, worker, client):
    session = wait_for(start(owner, make_team(owner), protocol_params={"rounds": 1}, max_turns=3))
    assert session.next_turn == 3
    assert final_event(session).payload["ended_by"] == "protocol"
    assert selectors.completed_by_rules(session) is True
    client.force_login(owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="run-outcome" class="notice-cut-short" role="status" hidden' in page and "Cut short" not in page


def test_a_scenario_that_ends_by_its_rules_has_final_scores(owner, worker):
    session = wait_for(fishery(owner, {"months": 2}, max_turns=400), timeout=120)
    assert final_event(session).payload["ended_by"] == "scenario"
    assert selectors.run_outcome(session) == {"ended": True, "ended_by": "scenario", "completed_by_rules": True,
                                             "cut_short": False, "provisional": False}
    assert "provisional" not in final_event(session).payload


def test_stop_error_and_live_sessions_did_not_complete_by_their_rules(owner):
    from django.db import transaction

    from collab.engine import status
    from collab.sessions import events as log

    stopped = services.session_create(owner=owner, team=make_team(owner, "Stopped"))
    assert selectors.completed_by_rules(stopped) is False  # a draft
    services.session_stop(session=stopped, user=owner)
    stopped.refresh_from_db()
    assert selectors.run_outcome(stopped)["ended_by"] == "owner" and not selectors.completed_by_rules(stopped)

    failed = services.session_create(owner=owner, team=make_team(owner, "Failed"))
    with transaction.atomic():
        status.change(log.lock_session(failed.pk), "running", actor="system", reason="started")
    status.fail(failed.pk, "turn 0 failed 3 times")
    failed.refresh_from_db()
    assert selectors.run_outcome(failed)["ended_by"] == "error" and not selectors.completed_by_rules(failed)


def test_the_live_page_is_told_when_a_run_is_cut_short(owner, worker):
    session = wait_for(fishery(owner, max_turns=8), timeout=120)
    html = fragments.event_oob(serialize(final_event(session)), {})
    assert 'id="run-outcome" class="notice-cut-short" role="status" hx-swap-oob="true"' in html
    assert "the turn limit came before the scenario reached its end" in html
    assert 'id="scenario-provisional" hx-swap-oob="true"' in html
