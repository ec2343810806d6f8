"""The HTTP side of the ASGI app (collab/http.py): static files are served
before Django, with nosniff; every other request runs Django's middleware
and view in one thread hop, not one per middleware method."""

import asgiref.sync
import pytest
from channels.testing import HttpCommunicator

from collab.asgi import application


async def get(path: str) -> dict:
    communicator = HttpCommunicator(application, "GET", path, headers=[(b"host", b"127.0.0.1")])
    return await communicator.get_response(timeout=30)


def header(response: dict, name: bytes) -> bytes | None:
    return next((value for key, value in response["headers"] if key.lower() == name), None)


@pytest.mark.asyncio
async def test_static_file_served_with_nosniff():
    response = await get("/static/js/code.js")
    assert response["status"] == 200
    assert b"Keyboard-first coding" in response["body"]
    assert header(response, b"x-content-type-options") == b"nosniff"


@pytest.mark.asyncio
async def test_unknown_static_file_reaches_django_and_is_a_404():
    response = await get("/static/js/no-such-file.js")
    assert response["status"] == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_page_runs_its_middleware_in_one_thread_hop(monkeypatch):
    hops = []
    real = asgiref.sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counting)
    response = await get("/accounts/login/")
    assert response["status"] == 200
    assert header(response, b"content-security-policy")  # the middleware ran
    assert header(response, b"x-frame-options") == b"DENY"
    # request_started, the whole chain, the response's close: Django's own ASGI handler
    # would add two hops for each MiddlewareMixin (process_request and process_response).
    assert len(hops) <= 4, hops
