"""Model profiles belong to their owner (issue 9, item 12) in the services the
newer apps call, not only in their forms: a fork and an experiment may use the
caller's own profiles and the published ones, never another user's private
one, and an error does not list other users' profile names."""

import pytest

from collab.experiments import services as experiments
from collab.experiments.spec import SpecError
from collab.sessions import services
from collab.sessions.permissions import Refused
from collab.teams.models import ModelProfile
from tests.engine_helpers import make_team


def profile(owner, name: str, published: bool = False) -> ModelProfile:
    return ModelProfile.objects.create(owner=owner, name=name, provider="scripted", published=published)


@pytest.mark.django_db
def test_a_fork_runs_only_on_a_profile_its_maker_may_use(owner, outsider):
    origin = services.session_create(owner=owner, team=make_team(owner))
    services.session_inject(session=origin, user=owner, text="Fork from here.")
    theirs = profile(outsider, "Outsider's secret model")
    with pytest.raises(Refused, match="not yours to use"):
        services.session_fork(session=origin, user=owner, at_seq=1, model_profile=theirs)
    for usable in (profile(owner, "Mine"), profile(outsider, "Shared", published=True)):
        fork = services.session_fork(session=origin, user=owner, at_seq=1, model_profile=usable)
        assert {r["model_profile"]["name"] for r in fork.team_snapshot["roles"]} == {usable.name}


@pytest.mark.django_db
def test_an_experiment_names_only_profiles_its_owner_may_use(owner, outsider):
    profile(outsider, "Outsider's secret model")
    profile(owner, "Mine")
    text = "title: t\nbase: {preset: maze_pair, model_profile: \"%s\"}\nseeds: 1\n"
    with pytest.raises(SpecError) as refused:
        experiments.experiment_create(owner=owner, text=text % "Outsider's secret model")
    said = " ".join(refused.value.problems)
    assert "unknown model profile" in said and "yours and the shared ones: Mine" in said
    assert said.count("Outsider's secret model") == 1  # echoed as asked, not listed as one that exists
    assert experiments.experiment_create(owner=owner, text=text % "Mine").runs.count() == 1
