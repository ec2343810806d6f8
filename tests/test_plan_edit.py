"""Editing the shared plan: every save names the version it was based on; a
save based on an older version is refused and writes nothing, and every
owner's editor moves to the new version whenever the plan changes."""

import json

import pytest
from channels.db import database_sync_to_async

from collab.sessions import services
from collab.sessions.models import Event, Membership
from collab.sessions.permissions import Refused
from tests.engine_helpers import make_team
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(owner):
    return services.session_create(owner=owner, team=make_team(owner))


def steps_of(session) -> list[str]:
    session.refresh_from_db()
    return [s["text"] for s in session.state["plan"]["steps"]]


def test_a_save_based_on_an_older_version_is_refused_and_writes_nothing(session, owner):
    services.session_edit_plan(session=session, user=owner, steps=[{"text": "Spec"}], base_version=0)
    services.session_edit_plan(session=session, user=owner, steps=[{"text": "Spec"}, {"text": "Code"}], base_version=1)
    before = Event.objects.filter(session=session).count()
    with pytest.raises(Refused, match=r"it is now v2, and your edit was based on v1"):
        services.session_edit_plan(session=session, user=owner, steps=[{"text": "Spec"}], base_version=1)
    assert steps_of(session) == ["Spec", "Code"]
    assert session.state["plan"]["version"] == 2
    assert Event.objects.filter(session=session).count() == before


@pytest.mark.parametrize("version", [None, "", "two", "1\x00", "9" * 5000, [1]])
def test_a_save_without_a_readable_version_is_refused(session, owner, version):
    with pytest.raises(Refused, match="did not say which plan version"):
        services.session_edit_plan(session=session, user=owner, steps=[{"text": "Spec"}], base_version=version)
    assert steps_of(session) == [] and not Event.objects.filter(session=session).exists()


def test_the_page_edits_the_current_version_and_a_stale_form_is_refused(client, owner, session):
    client.force_login(owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'name="base_version" value="0"' in page
    client.post(f"/sessions/{session.pk}/edit_plan/", {"text": ["Spec", ""], "owner": ["", ""],
                                                       "status": ["todo", "todo"], "base_version": "0"})
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'name="base_version" value="1"' in page and 'value="Spec"' in page

    # The same stale form posted again (v0, one step changed) would drop nothing, but is still refused.
    response = client.post(f"/sessions/{session.pk}/edit_plan/", {
        "text": ["Other", ""], "owner": ["", ""], "status": ["todo", "todo"], "base_version": "0"}, follow=True)
    html = response.content.decode()
    assert "The plan was not changed: it is now v1" in html
    assert 'name="base_version" value="1"' in html and 'value="Spec"' in html
    assert steps_of(session) == ["Spec"]


def fields_frames(frames: list[str]) -> list[str]:
    return [f for f in frames if 'id="plan-edit-fields"' in f]


async def test_every_owner_page_gets_the_new_version_and_observers_get_no_editor(session, owner, outsider):
    await database_sync_to_async(services.membership_add)(session=session, by=owner, user=outsider,
                                                          capacity=Membership.Capacity.OBSERVER)
    pages = {}
    for name, user in (("tab1", owner), ("tab2", owner), ("observer", outsider)):
        pages[name] = comm = await connect(session.pk, user)
        assert (await comm.connect())[0]
        await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
        await receive_all(comm, 0.3)

    await pages["tab1"].send_to(text_data=json.dumps({
        "action": "edit_plan", "text": ["Spec", "Code", ""], "owner": ["analyst", "", ""],
        "status": ["doing", "todo", "todo"], "base_version": "0"}))
    received = {name: await receive_all(comm) for name, comm in pages.items()}
    for tab in ("tab1", "tab2"):
        (fields,) = fields_frames(received[tab])
        assert 'hx-swap-oob="true"' in fields and 'name="base_version" value="2"' not in fields
        assert 'name="base_version" value="1"' in fields and 'value="Spec"' in fields and 'value="Code"' in fields
    assert not fields_frames(received["observer"])  # no editor there: no swap without a target
    assert any('id="plan-board"' in f for f in received["observer"])

    # tab2 saves from what it showed before tab1's save (v0): refused, and it is sent the current fields.
    await pages["tab2"].send_to(text_data=json.dumps({
        "action": "edit_plan", "text": ["Only this", ""], "owner": ["", ""], "status": ["todo", "todo"],
        "base_version": "0"}))
    frames = await receive_all(pages["tab2"])
    assert any("it is now v1, and your edit was based on v0" in f for f in frames)
    (fields,) = fields_frames(frames)
    assert 'name="base_version" value="1"' in fields and 'value="Spec"' in fields
    assert await database_sync_to_async(steps_of)(session) == ["Spec", "Code"]
    for comm in pages.values():
        await comm.disconnect()
