"""Writes for the workbench. Sessions are created and changed only through
collab.sessions.services; the log is never rewritten."""

from django.db import transaction

from collab.research import exchange
from collab.sessions import services as session_services
from collab.sessions.models import Session


def transcript_import(*, owner, stream) -> list[Session]:
    """Validate the whole file (every session in it), then write it in one
    transaction, one imported session per header: a refused file leaves the
    database as it was."""
    data = exchange.read_upload(stream)
    sections = exchange.parse(data)
    with transaction.atomic():
        return [session_services.session_import(owner=owner, header=header, events=events)
                for header, events, _lines in sections]
