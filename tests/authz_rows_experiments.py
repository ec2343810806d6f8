"""The experiments app's rows of the authorization matrix.

An experiment is private to its owner; staff may look at it but not act on
it; everyone else gets a 404 (collab/experiments/views.py::_experiment and
tests/test_experiments_views.py). Comparing and forking sessions go by the
session's own access: its members see it, others do not learn it exists. A
fork copies the whole log, so a seated participant (who may not hear every
whisper) cannot make one. Model profiles belong to their owner: nobody but
their owner and staff may run someone else's private profile in an
experiment or a fork."""

from django.urls import reverse

from collab.experiments import services
from collab.sessions import services as session_services
from collab.sessions.models import Membership
from collab.teams.models import ModelProfile
from tests.authz import Case, World, expect, session_members, signed_in
from tests.engine_helpers import make_team

MAZE = "title: Maze\nbase: {preset: maze_pair}\ngrid: {params.mode: [solo, pair]}\nseeds: 2\n"
READERS = expect("hidden", anonymous="login", owner="ok", staff="ok")
OWNER_ONLY = expect("hidden", anonymous="login", owner="ok")
UNRELATEDS_PROFILE = "Unrelated's private model"


def experiment(w: World) -> None:
    owner = w.users["owner"]
    found = services.experiment_create(owner=owner, text=MAZE)
    w.extra["experiment"] = services.experiment_start(experiment=found, user=owner, schedule=False)


def cancelled_experiment(w: World) -> None:
    """Cancelled cells are what a re-run queues again."""
    experiment(w)
    services.experiment_cancel(experiment=w.extra["experiment"], user=w.users["owner"])


def _e(w: World) -> dict:
    return {"pk": w.extra["experiment"].pk}


def two_sessions(w: World) -> None:
    """A second session with the same members, so there are two to compare; and an event to fork after."""
    owner = w.users["owner"]
    second = session_services.session_create(owner=owner, team=make_team(owner, name="Second trio"), title="Second")
    for actor in ("observer", "annotator", "participant"):
        Membership.objects.create(session=second, user=w.users[actor], capacity=actor)
    session_services.session_inject(session=w.session, user=owner, text="Fork from here.")
    w.extra["second"] = second


def unrelated_has_a_profile(w: World) -> None:
    two_sessions(w)
    w.extra["profile"] = ModelProfile.objects.create(
        owner=w.users["unrelated"], name=UNRELATEDS_PROFILE, provider="openai", base_url="http://127.0.0.1:9/v1",
        model="theirs")


def _compare(ids):
    return lambda w: {"_url": f"{reverse('session_compare')}?sessions={','.join(str(i(w)) for i in ids)}"}


def _theirs(w: World) -> int:
    return session_services.session_create(owner=w.users["unrelated"], team=make_team(w.users["unrelated"])).pk


# Refused in the form (400) where the door was passed: the choice is not theirs to make.
PROFILE_NOT_THEIRS = "status 400"

ROWS: dict[str, list[Case]] = {
    "experiment_list": [Case(signed_in())],
    "experiment_new": [
        Case(signed_in()),
        Case(signed_in(), "POST", data=lambda w: {"definition": MAZE, "seeds": "1", "repetitions": "1"},
             label="start one"),
        Case(signed_in(PROFILE_NOT_THEIRS, unrelated="ok", staff="ok"), "POST", prepare=unrelated_has_a_profile,
             data=lambda w: {"definition": MAZE.replace("preset: maze_pair", f"preset: maze_pair, model_profile: "
                                                                             f"\"{UNRELATEDS_PROFILE}\""),
                             "seeds": "1", "repetitions": "1"},
             label="another user's private profile"),
    ],
    "experiment_detail": [Case(READERS, kwargs=_e, prepare=experiment)],
    "experiment_progress": [Case(READERS, kwargs=_e, prepare=experiment)],
    "experiment_runs_csv": [Case(READERS, kwargs=_e, prepare=experiment)],
    "experiment_aggregates_csv": [Case(READERS, kwargs=_e, prepare=experiment)],
    "experiment_manifest": [Case(READERS, kwargs=_e, prepare=experiment)],
    "experiment_cancel": [Case(OWNER_ONLY, "POST", kwargs=_e, prepare=experiment)],
    "experiment_rerun": [Case(OWNER_ONLY, "POST", kwargs=_e, prepare=cancelled_experiment)],
    "session_compare": [
        Case(session_members(), kwargs=_compare([lambda w: w.session.pk, lambda w: w.extra["second"].pk]),
             prepare=two_sessions),
        Case(expect("hidden", anonymous="login"), prepare=two_sessions, label="one session not theirs",
             kwargs=_compare([lambda w: w.session.pk, _theirs])),
    ],
    "session_fork": [
        Case(session_members(), kwargs=lambda w: {"pk": w.session.pk}, prepare=two_sessions),
        Case(session_members(participant="status 400"), "POST", kwargs=lambda w: {"pk": w.session.pk},
             prepare=two_sessions, data=lambda w: {"at_seq": "1"}, label="fork"),
        Case(session_members(PROFILE_NOT_THEIRS), "POST", kwargs=lambda w: {"pk": w.session.pk},
             prepare=unrelated_has_a_profile, data=lambda w: {"at_seq": "1", "model_profile": w.extra["profile"].pk},
             label="another user's private profile"),
    ],
}
