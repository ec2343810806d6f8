"""Writes for the workbench. Sessions are created and changed only through
collab.sessions.services; the log is never rewritten."""

from collab.research import exchange
from collab.sessions import services as session_services
from collab.sessions.models import Session


def transcript_import(*, owner, stream) -> Session:
    """Validate the whole file, then write it in one transaction: a refused
    file leaves the database as it was."""
    data = exchange.read_upload(stream)
    header, events, _annotations = exchange.parse(data)
    return session_services.session_import(owner=owner, header=header, events=events)
