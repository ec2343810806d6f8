"""The instructor's live wall over the real socket: tiles follow the
sessions' broadcasts (status, turn, speaker, tokens, score) without reload,
a student's help flag appears and goes away, and pause and hints (one group,
or all) sent from the wall reach the sessions."""

import json
import re

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from collab.courses.models import GroupSession
from collab.sessions import services as session_services
from collab.sessions.models import Event, Session
from tests.course_helpers import fast_passwords, make_class  # noqa: F401 (autouse fixture)
from tests.test_course_permissions import _connect

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def frames_until(comm, predicate, timeout: float = 60.0) -> list[str]:
    import asyncio

    seen = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await comm.receive_nothing(0.2):
            continue
        seen.append(await comm.receive_from())
        if predicate(seen[-1]):
            return seen
    raise AssertionError(f"nothing matched in {len(seen)} frames; last: {seen[-3:]}")


def tile_of(frame: str, session_id: int) -> str | None:
    match = re.search(rf'<article class="tile[^"]*" id="tile-{session_id}".*?</article>', frame, re.S)
    return match.group(0) if match else None


async def test_wall_follows_sessions_live(worker):
    k = await database_sync_to_async(make_class)(opens_in_hours=2, student_roles=())
    await database_sync_to_async(lambda: logged_in(k.instructor).post(
        f"/courses/assignments/{k.assignment.pk}/publish/"))()
    alpha = await database_sync_to_async(lambda: GroupSession.objects.select_related("session").get(group=k.group_a))()
    beta = await database_sync_to_async(lambda: GroupSession.objects.select_related("session").get(group=k.group_b))()
    comm = await _connect(f"/ws/courses/assignments/{k.assignment.pk}/wall/", k.ta)
    assert (await comm.connect())[0]
    first = await comm.receive_from()
    assert tile_of(first, alpha.session_id) and tile_of(first, beta.session_id)
    assert 'data-status="draft"' in tile_of(first, alpha.session_id)

    # A student raises the help flag: it appears on the wall; the TA clears it from the wall.
    await database_sync_to_async(lambda: logged_in(k.student_a).post(
        f"/courses/assignments/{k.assignment.pk}/groups/{alpha.pk}/help/", {"note": "We are stuck on lighting"}))()
    frames = await frames_until(comm, lambda f: "Help requested" in (tile_of(f, alpha.session_id) or ""))
    assert "We are stuck on lighting" in frames[-1]
    await comm.send_to(text_data=json.dumps({"action": "clear_help", "link": str(alpha.pk)}))
    await frames_until(comm, lambda f: (t := tile_of(f, alpha.session_id)) is not None and "Help requested" not in t)

    # The group's session runs: the tile shows it running, who speaks, tokens, then the judge's score.
    await database_sync_to_async(session_services.session_start)(session=alpha.session, user=k.instructor)
    frames = await frames_until(comm, lambda f: 'data-status="running"' in (tile_of(f, alpha.session_id) or ""))
    frames += await frames_until(comm, lambda f: "speaking" in (tile_of(f, alpha.session_id) or "")
                                 or f.startswith(f'<span id="speech-text-{alpha.session_id}"'))
    frames += await frames_until(comm, lambda f: 'data-status="finished"' in (tile_of(f, alpha.session_id) or ""),
                                 timeout=90)
    final = next(t for f in reversed(frames) if (t := tile_of(f, alpha.session_id)))
    tokens = int(re.search(r'class="tile-tokens">(\d+)', final).group(1))
    assert tokens > 0
    frames = [f for f in frames if tile_of(f, alpha.session_id)]
    assert any(re.search(r'class="tile-score">0\.\d\d', f) or re.search(r'class="tile-score">1\.00', f)
               for f in frames), "the judge's score reaches the tile"
    assert all(tile_of(f, beta.session_id) is None for f in frames), "only the changed tile is sent"

    # Pause one group and hint it from the wall; then broadcast to every live group.
    await database_sync_to_async(session_services.session_start)(session=beta.session, user=k.instructor)
    await comm.send_to(text_data=json.dumps({"action": "pause", "link": str(beta.pk)}))
    await frames_until(comm, lambda f: 'data-status="paused"' in (tile_of(f, beta.session_id) or ""))
    await comm.send_to(text_data=json.dumps({"action": "hint", "link": str(beta.pk), "text": "Mind the budget."}))
    await frames_until(comm, lambda f: "Hint sent." in f)
    await comm.send_to(text_data=json.dumps({"action": "broadcast", "text": "Ten minutes left."}))
    await frames_until(comm, lambda f: "Hint sent to 1 group." in f)
    texts = await database_sync_to_async(lambda: list(Event.objects.filter(
        session_id=beta.session_id, actor="user:ta").values_list("payload__text", flat=True)))()
    assert "Hint from ta: Mind the budget." in texts and "Hint from ta: Ten minutes left." in texts
    assert (await database_sync_to_async(lambda: Session.objects.get(pk=beta.session_id).status)()) == "paused"
    # An empty hint is refused with a reason, nothing logged.
    await comm.send_to(text_data=json.dumps({"action": "hint", "link": str(beta.pk), "text": "  "}))
    await frames_until(comm, lambda f: "flash-error" in f and "empty" in f)
    await comm.disconnect()


async def test_a_student_is_refused_on_the_wall_even_with_a_forged_action(worker):
    k = await database_sync_to_async(make_class)(opens_in_hours=2)
    comm = await _connect(f"/ws/courses/assignments/{k.assignment.pk}/wall/", k.student_a)
    connected, code = await comm.connect()
    assert not connected and code == 4403
