"""Shared setup for engine tests: teams, sessions, waiting on the worker."""

import time

from django.db import connection

from collab.sessions import services
from collab.sessions.models import Event, Session
from collab.teams.models import ModelProfile, Role, Team

ROLES = [("analyst", "requirements", 3), ("coder", "Python", 2), ("tester", "testing", 1)]


def make_team(owner, name="Trio", profile: ModelProfile | None = None) -> Team:
    team = Team.objects.create(name=name, owner=owner)
    for i, (role, expertise, strength) in enumerate(ROLES):
        Role.objects.create(team=team, order=i, name=role, persona=f"You are the {role}.", expertise=expertise,
                            strength=strength, model_profile=profile)
    return team


def fake_profile(server, owner=None) -> ModelProfile:
    """`owner`: for the doors that let a user pick only profiles they may use (their own or published)."""
    return ModelProfile.objects.create(name=f"fake-{server.base_url}", provider="openai", base_url=server.base_url,
                                       model="fake-model", api_key_env="FAKE_OPENAI_KEY", timeout_seconds=5,
                                       owner=owner)


def start(owner, team, **kwargs) -> Session:
    session = services.session_create(owner=owner, team=team, **kwargs)
    services.session_start(session=session, user=owner)
    return session


def wait_for(session: Session, statuses=("finished", "failed"), timeout: float = 60.0) -> Session:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if session.status in statuses:
            return session
        time.sleep(0.1)
    connection.close()
    raise AssertionError(f"session {session.pk} still {session.status} after {timeout} s; "
                         f"events: {list(Event.objects.filter(session=session).values_list('seq', 'kind', 'actor'))}")


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_gapless(session: Session) -> list[Event]:
    events = list(Event.objects.filter(session=session).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    session.refresh_from_db()
    assert session.last_seq == len(events)
    return events


def message_turns(session: Session) -> list[tuple[int, str]]:
    return list(Event.objects.filter(session=session, kind="message").exclude(actor__startswith="user:")
                .order_by("seq").values_list("turn_index", "actor"))
