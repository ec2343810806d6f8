"""Each agent's prompt is built only from the events visible to it."""

import pytest
from django.contrib.auth.models import User

from collab.engine.topologies import TOPOLOGIES
from collab.sessions import services
from collab.sessions.models import LLMCall
from tests.engine_helpers import assert_gapless, make_team, start, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def prompt_text(session, actor):
    """What the role heard: every non-system message of every prompt it was sent."""
    return "\n".join(str(m["content"]) for call in LLMCall.objects.filter(session=session, actor=actor)
                     for m in call.messages if m["role"] != "system")


def test_whisper_reaches_only_its_audience(owner, worker):
    team = make_team(owner)
    session = services.session_create(owner=owner, team=team, protocol="round_robin", protocol_params={"rounds": 2})
    services.session_inject(session=session, user=owner, text="SECRET-FOR-CODER only", to_role="coder")
    services.session_inject(session=session, user=owner, text="PUBLIC-NOTE for all")
    services.session_start(session=session, user=owner)
    session = wait_for(session)
    assert "SECRET-FOR-CODER" in prompt_text(session, "coder")
    assert "SECRET-FOR-CODER" not in prompt_text(session, "analyst")
    assert "SECRET-FOR-CODER" not in prompt_text(session, "tester")
    for role in ("analyst", "coder", "tester"):
        assert "PUBLIC-NOTE" in prompt_text(session, role)
    assert_gapless(session)


def test_star_spokes_hear_only_the_hub(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="round_robin", protocol_params={"rounds": 2},
                             topology="star", topology_params={"hub": "analyst"}))
    assert "coder:" in prompt_text(session, "analyst")
    assert "coder:" not in prompt_text(session, "tester")
    assert "analyst:" in prompt_text(session, "tester")


def test_chain_hears_only_neighbours(owner, worker):
    session = wait_for(start(owner, make_team(owner), protocol="round_robin", protocol_params={"rounds": 2},
                             topology="chain"))
    assert "tester:" not in prompt_text(session, "analyst")
    assert "coder:" in prompt_text(session, "analyst")


def test_custom_graph(owner, worker):
    graph = {"analyst": ["tester"], "coder": [], "tester": ["analyst", "coder"]}
    session = wait_for(start(owner, make_team(owner), protocol="round_robin", protocol_params={"rounds": 2},
                             topology="custom", topology_params={"graph": graph}))
    coder = prompt_text(session, "coder")
    assert "analyst:" not in coder and "tester:" not in coder
    assert "tester:" in prompt_text(session, "analyst")


def test_custom_graph_rejects_unknown_roles(owner):
    with pytest.raises(ValueError, match="not a role"):
        services.session_create(owner=owner, team=make_team(owner), topology="custom",
                                topology_params={"graph": {"ghost": []}})


def test_every_topology_is_tested():
    assert TOPOLOGIES.names() == ["chain", "custom", "everyone", "star"]


def test_unknown_names_list_what_exists(owner):
    with pytest.raises(ValueError, match="choose one of: .*round_robin"):
        services.session_create(owner=owner, team=make_team(owner), protocol="nope")
    assert User.objects.count() == 1
