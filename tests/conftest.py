import pytest
from django.contrib.auth.models import User

from tests import procs


class Workers:
    """The suite's real Celery worker; a test may kill it, the next gets a new one."""

    def __init__(self):
        self.proc = None
        self.generation = 0

    def ensure(self) -> procs.Proc:
        if self.proc is None or not self.proc.alive():
            self.generation += 1
            self.proc = procs.start_worker(f"w{self.generation}")
        return self.proc

    def stop(self):
        if self.proc is not None:
            self.proc.stop()


@pytest.fixture(scope="session")
def workers(django_db_setup, django_db_blocker):
    pool = Workers()
    yield pool
    pool.stop()


@pytest.fixture
def worker(workers, django_db_blocker):
    """A real Celery worker process on the test database and test Redis."""
    with django_db_blocker.unblock():
        return workers.ensure()


@pytest.fixture
def owner(db):
    return User.objects.create_user("owner", password="owner-pass-123")


@pytest.fixture
def participant(db):
    return User.objects.create_user("participant", password="participant-pass-123")


@pytest.fixture
def outsider(db):
    return User.objects.create_user("outsider", password="outsider-pass-123")


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", password="alice-pass-123")


@pytest.fixture
def bob(db):
    return User.objects.create_user("bob", password="bob-pass-123")
