"""The socket's Origin check compares scheme, host and port: a page on
another port or scheme of the same host is refused, as is a missing or
foreign Origin; listed origins (a TLS proxy's) are accepted exactly."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from collab.asgi import application
from collab.sessions import services
from tests.engine_helpers import make_team
from tests.test_live_socket import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(owner):
    return services.session_create(owner=owner, team=make_team(owner))


async def opens(session, owner, origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws") -> bool:
    headers = [(b"host", host.encode()), (b"cookie", await database_sync_to_async(cookie_for)(owner))]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(application, f"/ws/sessions/{session.pk}/", headers=headers)
    comm.scope["scheme"] = scheme
    connected, _ = await comm.connect()
    if connected:
        await comm.disconnect()
    return connected


CASES = [
    # (origin, host, scheme of the socket, accepted)
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),
    ("http://localhost:8000", "localhost:8000", "ws", True),
    ("HTTP://LOCALHOST:8000", "localhost:8000", "ws", True),
    ("http://127.0.0.1", "127.0.0.1", "ws", True),
    ("http://127.0.0.1:80", "127.0.0.1", "ws", True),
    ("https://127.0.0.1", "127.0.0.1", "wss", True),
    ("http://127.0.0.1:9999", "127.0.0.1:8000", "ws", False),  # another app on the same host
    ("http://127.0.0.1", "127.0.0.1:8000", "ws", False),
    ("https://127.0.0.1:8000", "127.0.0.1:8000", "ws", False),  # scheme differs
    ("http://127.0.0.1:443", "127.0.0.1", "wss", False),
    ("http://localhost:8000", "127.0.0.1:8000", "ws", False),  # another host
    ("http://evil.example:8000", "127.0.0.1:8000", "ws", False),
    ("http://127.0.0.1.evil.example:8000", "127.0.0.1:8000", "ws", False),
    ("http://evil.example:8000", "evil.example:8000", "ws", False),  # a host Django does not serve
    ("null", "127.0.0.1:8000", "ws", False),
    ("file://", "127.0.0.1:8000", "ws", False),
    ("http://127.0.0.1:notaport", "127.0.0.1:8000", "ws", False),
    (None, "127.0.0.1:8000", "ws", False),
]


@pytest.mark.parametrize(("origin", "host", "scheme", "accepted"), CASES)
async def test_origin_must_match_scheme_host_and_port(session, owner, origin, host, scheme, accepted):
    assert await opens(session, owner, origin, host, scheme) is accepted


async def test_listed_origins_are_matched_exactly(session, owner, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://collab.example.org"]
    assert await opens(session, owner, "https://collab.example.org", host="127.0.0.1:8000")
    assert await opens(session, owner, "https://collab.example.org:443", host="127.0.0.1:8000")
    assert not await opens(session, owner, "https://collab.example.org:8443", host="127.0.0.1:8000")
    assert not await opens(session, owner, "http://collab.example.org", host="127.0.0.1:8000")
    assert not await opens(session, owner, "https://sub.collab.example.org", host="127.0.0.1:8000")
