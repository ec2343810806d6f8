"""Forks: a new session from a copy of the log up to any event, linked to its
origin, continuing with a change; the origin is never touched."""

import pytest
from django.urls import reverse

from collab.experiments import compare
from collab.sessions import services
from collab.sessions.models import Event, Session, TurnSnapshot
from collab.sessions.permissions import Refused
from collab.teams.services import team_create_from_preset
from tests.engine_helpers import assert_gapless, start, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def public_goods(owner, **params):
    team = team_create_from_preset(preset_key="public_goods_group", owner=owner)
    return start(owner, team, protocol="scenario", max_turns=200, seed=3, protocol_params={
        "scenario": "public_goods", "params": {"rounds": 3, "shuffle_order": True, **params},
        "strategies": {"Player 1": "cooperator", "Player 2": "free_rider", "Player 3": "conditional",
                       "Player 4": "conditional"}})


def fields(events):
    return [(e.seq, e.kind, e.actor, e.audience, e.payload, e.turn_index) for e in events]


def turn_events(session, after_seq):
    """The turns' own events after a seq (not state changes or the fork notice), without seq."""
    return [(e.kind, e.actor, e.payload, e.turn_index) for e in
            Event.objects.filter(session=session, seq__gt=after_seq).exclude(kind__in=["state", "notice"])
            .order_by("seq")]


def test_a_fork_copies_the_log_and_replays_the_same_future_when_nothing_changes(owner, worker):
    origin = wait_for(public_goods(owner))
    origin_events = assert_gapless(origin)
    snapshots = list(TurnSnapshot.objects.filter(session=origin).order_by("turn_index"))
    assert [s.turn_index for s in snapshots] == list(range(origin.next_turn))
    middle = snapshots[5]
    # An event inside turn 5 takes the whole turn with it.
    fork = services.session_fork(session=origin, user=owner, at_seq=middle.first_seq)
    assert fork.forked_from_id == origin.pk and fork.forked_at_seq == middle.last_seq
    assert fork.next_turn == 6 and fork.status == "draft"
    copied = list(Event.objects.filter(session=fork, seq__lte=middle.last_seq).order_by("seq"))
    assert fields(copied) == fields(origin_events[:middle.last_seq])
    notice = Event.objects.get(session=fork, seq=middle.last_seq + 1)
    assert notice.payload["fork"] == {"origin": origin.pk, "at_seq": middle.last_seq, "changes": {}}
    services.session_start(session=fork, user=owner)
    fork = wait_for(fork)
    assert fork.status == "finished" and fork.end_reason == origin.end_reason
    assert_gapless(fork)
    # Scripted agents are deterministic in (seed, turn): the branch replays the origin's future exactly.
    assert turn_events(fork, middle.last_seq) == turn_events(origin, middle.last_seq)
    assert Event.objects.filter(session=origin).count() == len(origin_events)  # the origin is untouched


def test_a_fork_with_another_reward_and_an_injected_note_runs_on_differently(owner, worker, outsider):
    origin = wait_for(public_goods(owner))
    at = TurnSnapshot.objects.get(session=origin, turn_index=3).last_seq
    with pytest.raises(Refused, match="cannot see"):
        services.session_fork(session=origin, user=outsider, at_seq=at)
    for bad in (0, origin.last_seq + 1, "3", True):
        with pytest.raises(Refused, match="Fork from an event between 1 and"):
            services.session_fork(session=origin, user=owner, at_seq=bad)
    with pytest.raises(Refused, match="parameter 'reward' must be one of"):
        services.session_fork(session=origin, user=owner, at_seq=at, protocol_params={"params": {"reward": "x"}})
    with pytest.raises(Refused, match="empty"):  # NUL is cleaned away at the boundary: nothing is left to say
        services.session_fork(session=origin, user=owner, at_seq=at, inject="\x00")
    with pytest.raises(Refused, match="characters; at most"):
        services.session_fork(session=origin, user=owner, at_seq=at, inject="x" * 1_000_000)
    assert Session.objects.count() == 1
    # An event before the first turn forks from the initial state.
    early = services.session_fork(session=origin, user=owner, at_seq=1)
    assert early.next_turn == 0 and early.forked_at_seq == 1 and early.last_seq == 2
    fork = services.session_fork(session=origin, user=owner, at_seq=at, inject="Contribute everything now.",
                                 protocol_params={"params": {"reward": "mac_spgg"}})
    assert fork.protocol_params["params"]["reward"] == "mac_spgg"
    assert origin.protocol_params["params"]["reward"] == "standard"
    services.session_start(session=fork, user=owner)
    fork = wait_for(fork)
    events = assert_gapless(fork)
    assert fork.status == "finished"
    note = next(e for e in events if e.seq > at and e.kind == "message")
    assert note.actor == "user:owner" and note.payload["text"] == "Contribute everything now."
    states = [e.payload for e in events if e.kind == "scenario_state" and e.seq > at]
    assert states and all("bonuses" in (s["report"].get("result") or {"bonuses": 1}) for s in states)
    origin_final = origin.events.filter(kind="scenario_state").last().payload["metrics"]
    fork_final = states[-1]["metrics"]
    assert fork_final["total_welfare"] != origin_final["total_welfare"]


def test_fork_and_side_by_side_pages(owner, outsider, worker, client):
    origin = wait_for(public_goods(owner))
    at = TurnSnapshot.objects.get(session=origin, turn_index=4).last_seq
    fork_url = reverse("session_fork", args=[origin.pk])
    client.logout()
    assert client.get(fork_url).status_code == 302
    client.force_login(outsider)
    assert client.get(fork_url).status_code == 404
    assert client.post(fork_url, {"at_seq": at}).status_code == 404
    assert client.get(reverse("session_compare") + f"?sessions={origin.pk},{origin.pk + 1}").status_code in {400, 404}
    client.force_login(owner)
    page = client.get(fork_url)
    assert page.status_code == 200 and f'max="{origin.last_seq}"' in page.content.decode()
    bad = client.post(fork_url, {"at_seq": at, "protocol_params": "{nope"})
    assert bad.status_code == 400 and "Not valid JSON" in bad.content.decode()
    bad = client.post(fork_url, {"at_seq": origin.last_seq + 5})
    assert bad.status_code == 400
    assert Session.objects.count() == 1
    response = client.post(fork_url, {"at_seq": at, "protocol_params": '{"params": {"reward": "mac_spgg"}}',
                                      "inject": "Everyone: give it all."})
    fork = Session.objects.exclude(pk=origin.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("session_compare") + f"?sessions={origin.pk},{fork.pk}"
    assert fork.owner == owner and fork.forked_from == origin and fork.forked_at_seq == at
    fork = wait_for(fork)
    html = client.get(response["Location"] + "&metric=total_welfare").content.decode()
    assert f"from the fork point (event {at}" in html
    assert "Scores by round: total_welfare" in html and "<svg" in html
    assert f"#{fork.pk} − #{origin.pk}" in html
    assert "Everyone: give it all." in html  # the injected note sits in the first turn after the fork
    view = compare.side_by_side([origin, fork], "total_welfare")
    first_round = view["table"][0]["round"]
    assert first_round == view["fork_round"]
    last = view["table"][-1]
    assert last["diffs"][0] == pytest.approx(last["values"][1] - last["values"][0]) and last["diffs"][0] != 0
    assert client.get(reverse("session_compare") + "?sessions=abc").status_code == 400
    assert client.get(reverse("session_detail", args=[fork.pk])).content.decode().count(
        f"Compare with its origin #{origin.pk}") == 1
