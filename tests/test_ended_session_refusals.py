"""An ended (finished or failed) session's log is closed: editing the plan,
taking, handing back or speaking from a seat, injecting, pausing or
resuming it is refused with the reason, over HTTP and over the socket, and
nothing is written: no event, no seat change, no plan change."""

import json

import pytest
from channels.db import database_sync_to_async

from collab.engine import status
from collab.engine.runner import inline, run_inline
from collab.sessions import services
from collab.sessions.models import Event, Membership, Seat, Session
from collab.sessions.permissions import Refused
from tests.engine_helpers import make_team
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["finished", "failed"])
def ended(request, owner, participant):
    """A session that ran to its end (or failed), with a plan, and the participant still seated as coder."""
    session = services.session_create(owner=owner, team=make_team(owner), protocol="round_robin",
                                      protocol_params={"rounds": 1})
    services.membership_add(session=session, by=owner, user=participant, capacity=Membership.Capacity.PARTICIPANT)
    services.session_edit_plan(session=session, user=owner, steps=[{"text": "Spec"}], base_version=0)
    services.seat_take(session=session, user=participant, role="coder")
    with inline():
        services.session_start(session=session, user=owner)
    if request.param == "failed":
        status.fail(session.pk, "the model server is gone")
    else:
        services.seat_release(session=session, user=participant, role="coder")  # lets the agents run to the end
        with inline():
            run_inline(session.pk)
        Seat.objects.filter(session=session, role_name="coder").update(holder=Seat.Holder.HUMAN, user=participant)
    session.refresh_from_db()
    assert session.status == request.param
    return session


def written(session) -> tuple:
    """Everything a refused action must leave as it was."""
    session = Session.objects.get(pk=session.pk)
    seats = sorted(Seat.objects.filter(session=session).values_list("role_name", "holder", "user_id"))
    return session.status, session.last_seq, Event.objects.filter(session=session).count(), session.state, seats


def test_the_services_refuse_every_change_to_an_ended_session(ended, owner, participant):
    before = written(ended)
    refusals = [
        (lambda: services.session_edit_plan(session=ended, user=owner, steps=[{"text": "Ship"}], base_version=1),
         "the plan was not changed"),
        (lambda: services.seat_take(session=ended, user=owner, role="analyst"), "seats can no longer be taken"),
        (lambda: services.seat_release(session=ended, user=participant, role="coder"), "seats stay as they were"),
        (lambda: services.seat_release(session=ended, user=owner, role="coder"), "seats stay as they were"),
        (lambda: services.seat_message(session=ended, user=participant, role="coder", text="hi"), "nothing was sent"),
        (lambda: services.session_inject(session=ended, user=owner, text="one more thing"), "nothing was sent"),
        (lambda: services.session_pause(session=ended, user=owner), "Only a running session"),
        (lambda: services.session_resume(session=ended, user=owner), "Only a paused session"),
        (lambda: services.session_step(session=ended, user=owner), "Only a paused session"),
        (lambda: services.session_stop(session=ended, user=owner), "already ended"),
        (lambda: services.session_start(session=ended, user=owner), "not a draft"),
    ]
    for action, reason in refusals:
        with pytest.raises(Refused, match=reason):
            action()
        assert written(ended) == before
    # Removing the member still works (access is not the log); their seat stays the record of who played it.
    services.membership_remove(session=ended, by=owner, user=participant)
    assert written(ended)[:4] == before[:4]
    assert not Membership.objects.filter(session=ended, user=participant).exists()


@pytest.mark.parametrize("action, data, who, reason", [
    ("edit_plan", {"text": ["Ship", ""], "owner": ["", ""], "status": ["todo", "todo"], "base_version": "1"},
     "owner", "the plan was not changed"),
    ("take_seat", {"role": "analyst"}, "owner", "its seats can no longer be taken"),
    ("release_seat", {"role": "coder"}, "participant", "its seats stay as they were"),
    ("say", {"role": "coder", "text": "hello"}, "participant", "nothing was sent"),
    ("inject", {"text": "one more thing"}, "owner", "nothing was sent"),
    ("resume", {}, "owner", "Only a paused session can be resumed"),
])
def test_over_http_the_page_says_why_and_nothing_is_written(client, ended, owner, participant, action, data, who,
                                                            reason):
    before = written(ended)
    client.force_login(owner if who == "owner" else participant)
    response = client.post(f"/sessions/{ended.pk}/{action}/", data, follow=True)
    assert response.status_code == 200
    assert f"The session has ended ({ended.status})" in response.content.decode() or action == "resume"
    assert reason in response.content.decode()
    assert written(ended) == before


async def test_over_the_socket_each_page_is_told_why_and_nothing_is_written(ended, owner, participant):
    before = await database_sync_to_async(written)(ended)
    pages = {}
    for user in (owner, participant):
        pages[user.username] = comm = await connect(ended.pk, user)
        assert (await comm.connect())[0]
        await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
        await receive_all(comm, 0.3)
    sent = [
        ("owner", {"action": "edit_plan", "text": ["Ship", ""], "owner": ["", ""], "status": ["todo", "todo"],
                   "base_version": "1"}, "the plan was not changed"),
        ("owner", {"action": "take_seat", "role": "analyst"}, "its seats can no longer be taken"),
        ("participant", {"action": "take_seat", "role": "tester"}, "its seats can no longer be taken"),
        ("participant", {"action": "release_seat", "role": "coder"}, "its seats stay as they were"),
        ("participant", {"action": "say", "role": "coder", "text": "hello"}, "nothing was sent"),
    ]
    for who, frame, reason in sent:
        await pages[who].send_to(text_data=json.dumps(frame))
        frames = await receive_all(pages[who])
        (answer,) = [json.loads(f) for f in frames if f.startswith("{")]
        assert answer["type"] == "refused" and answer["action"] == frame["action"]
        assert answer["reason"].startswith(f"The session has ended ({ended.status})") and reason in answer["reason"]
        assert any(reason in f for f in frames if not f.startswith("{"))  # the flash shown on the page
    assert await database_sync_to_async(written)(ended) == before
    for comm in pages.values():
        await comm.disconnect()


def test_an_ended_session_page_offers_no_plan_editor_or_seat_controls(client, ended, owner):
    client.force_login(owner)
    html = client.get(f"/sessions/{ended.pk}/").content.decode()
    assert 'id="plan-edit-form"' not in html and "Take seat" not in html and "Hand back" not in html
