import pytest
from django.contrib.auth.models import User

from tests import procs


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the test database and test Redis."""
    with django_db_blocker.unblock():
        proc = procs.start_worker("w1")
    yield proc
    proc.stop()


@pytest.fixture
def owner(db):
    return User.objects.create_user("owner", password="owner-pass-123")


@pytest.fixture
def participant(db):
    return User.objects.create_user("participant", password="participant-pass-123")


@pytest.fixture
def outsider(db):
    return User.objects.create_user("outsider", password="outsider-pass-123")
