"""A human holding a seat sees what the agent in that seat would see: the
role's prompt filter decides what the page, the transcript and the socket
show. Owners and observers see everything, or one role's view on request."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from collab.sessions import services
from collab.sessions.models import Event
from tests.engine_helpers import make_team, wait_for
from tests.test_live_socket import connect, receive_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(owner, participant):
    observer = User.objects.create_user("observer", password="observer-pass-123")
    second = User.objects.create_user("second", password="second-pass-123")
    return {"owner": owner, "participant": participant, "observer": observer, "second": second}


def seated_session(people, **kwargs):
    """participant holds tester's seat, second holds coder's; observer watches."""
    owner = people["owner"]
    session = services.session_create(owner=owner, team=make_team(owner), **kwargs)
    for name, capacity in (("participant", "participant"), ("second", "participant"), ("observer", "observer")):
        services.membership_add(session=session, by=owner, user=people[name], capacity=capacity)
    services.seat_take(session=session, user=people["participant"], role="tester")
    services.seat_take(session=session, user=people["second"], role="coder")
    return session


def page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_whispers_reach_only_their_role_on_the_page_and_in_the_transcript(people):
    session = seated_session(people)
    owner = people["owner"]
    services.session_inject(session=session, user=owner, text="for the tester only", to_role="tester")
    services.session_inject(session=session, user=owner, text="for the coder only", to_role="coder")
    services.session_inject(session=session, user=owner, text="for everyone")
    base = f"/sessions/{session.pk}/"
    for url in (base, base + "transcript/"):
        tester = page(people["participant"], url)
        assert "for the tester only" in tester and "for everyone" in tester
        assert "for the coder only" not in tester
        assert "You play <strong>tester</strong>" in tester and 'id="view-as-role"' not in tester
        coder = page(people["second"], url)
        assert "for the coder only" in coder and "for the tester only" not in coder
        # A seated player cannot ask for another role's view.
        assert "for the coder only" not in page(people["participant"], url + "?as=coder")
        for watcher in ("observer", "owner"):
            everything = page(people[watcher], url)
            assert all(t in everything for t in ("for the tester only", "for the coder only", "for everyone"))
            assert 'id="view-as-role"' in everything
            as_coder = page(people[watcher], url + "?as=coder")
            assert "for the coder only" in as_coder and "for everyone" in as_coder
            assert "for the tester only" not in as_coder and "showing what coder sees" in as_coder
    # A participant without a seat sees what is said to everyone.
    services.seat_release(session=session, user=people["second"], role="coder")
    unseated = page(people["second"], base)
    assert "for everyone" in unseated
    assert "for the coder only" not in unseated and "for the tester only" not in unseated


def test_a_private_scenario_observation_reaches_only_its_seat(people, worker):
    """Hidden-profile ranking: tester is the expert; its human sees the expert
    ranking, the coder's human sees only its own observation."""
    session = seated_session(people, protocol="scenario", protocol_params={"scenario": "ranking"})
    services.session_start(session=session, user=people["owner"])
    wait_for(session, statuses=("awaiting_human",))
    private = {e.audience[0]: e.payload["text"] for e in Event.objects.filter(session=session, kind="observation")}
    assert set(private) == {"tester", "coder"}
    assert "you are the expert" in private["tester"] and "you are the expert" not in private["coder"]
    base = f"/sessions/{session.pk}/"
    tester, coder = page(people["participant"], base), page(people["second"], base)
    assert "you are the expert" in tester and "What tester observes" in tester
    assert "you are the expert" not in coder and "What coder observes" in coder and "What tester observes" not in coder
    observer = page(people["observer"], base)
    assert "What tester observes" in observer and "What coder observes" in observer
    assert "What tester observes" not in page(people["observer"], base + "?as=coder")

    # The socket's catch-up gives each seat its own observation, and the observer both.
    async def caught_up(user) -> str:
        comm = await connect(session.pk, user)
        assert (await comm.connect())[0]
        await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
        html = "".join(await receive_all(comm))
        await comm.disconnect()
        return html

    tester, coder, observer = (asyncio.run(caught_up(people[n])) for n in ("participant", "second", "observer"))
    assert "you are the expert" in tester and "What coder observes" not in tester
    assert "What coder observes" in coder and "you are the expert" not in coder
    assert "What tester observes" in observer and "What coder observes" in observer


async def test_the_socket_sends_each_viewer_its_roles_view(people):
    session = await database_sync_to_async(seated_session)(people)
    owner = people["owner"]
    sockets = {}
    for name, hello in (("participant", {}), ("observer", {}), ("owner", {"view_as": "coder"}),
                        ("second", {"view_as": "tester"})):
        comm = sockets[name] = await connect(session.pk, people[name])
        assert (await comm.connect())[0]
        await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0, **hello}))
        await receive_all(comm, 0.3)

    inject = database_sync_to_async(services.session_inject)
    await inject(session=session, user=owner, text="psst tester", to_role="tester")
    await inject(session=session, user=owner, text="psst coder", to_role="coder")
    await inject(session=session, user=owner, text="hello all")
    got = {name: "".join(await receive_all(comm)) for name, comm in sockets.items()}
    assert "psst tester" in got["participant"] and "psst coder" not in got["participant"]
    assert "psst tester" in got["observer"] and "psst coder" in got["observer"]
    assert "psst coder" in got["owner"] and "psst tester" not in got["owner"]  # viewing as coder
    assert "psst coder" in got["second"] and "psst tester" not in got["second"]  # seated: view_as is ignored
    assert all("hello all" in html for html in got.values())

    # Catch-up from the database applies the same filter; the next live event is not mistaken for a gap.
    late = await connect(session.pk, people["participant"])
    assert (await late.connect())[0]
    await late.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    caught_up = "".join(await receive_all(late))
    assert "psst tester" in caught_up and "hello all" in caught_up and "psst coder" not in caught_up
    await inject(session=session, user=owner, text="psst coder again", to_role="coder")
    await inject(session=session, user=owner, text="after that")
    after = "".join(await receive_all(late))
    assert "after that" in after and "psst coder again" not in after

    for comm in [*sockets.values(), late]:
        await comm.disconnect()


async def test_streamed_replies_follow_the_topology(people):
    from collab.live import bus

    session = await database_sync_to_async(seated_session)(people, topology="chain")
    comm = await connect(session.pk, people["participant"])  # tester: hears only coder
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)
    await bus.send(session.pk, {"type": "turn.start", "turn": 0, "actors": ["analyst", "coder"], "live": True})
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "analyst", "text": "unheard words"})
    await bus.send(session.pk, {"type": "turn.delta", "turn": 0, "actor": "coder", "text": "heard words"})
    frames = "".join(await receive_all(comm))
    assert "live-0-coder" in frames and "heard words" in frames
    assert "live-0-analyst" not in frames and "unheard" not in frames
    await comm.disconnect()



async def test_taking_and_handing_back_a_seat_changes_the_view_from_then_on(people):
    def unseated_session():
        owner = people["owner"]
        session = services.session_create(owner=owner, team=make_team(owner))
        services.membership_add(session=session, by=owner, user=people["participant"], capacity="participant")
        return session

    session = await database_sync_to_async(unseated_session)()
    inject = database_sync_to_async(services.session_inject)
    owner = people["owner"]
    comm = await connect(session.pk, people["participant"])
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
    await receive_all(comm, 0.3)

    await inject(session=session, user=owner, text="whisper before the seat", to_role="tester")
    assert "whisper before the seat" not in "".join(await receive_all(comm))  # no seat: what everyone hears
    await comm.send_to(text_data=json.dumps({"action": "take_seat", "role": "tester"}))
    await receive_all(comm)
    await inject(session=session, user=owner, text="whisper to my seat", to_role="tester")
    await inject(session=session, user=owner, text="whisper to the coder", to_role="coder")
    got = "".join(await receive_all(comm))
    assert "whisper to my seat" in got and "whisper to the coder" not in got
    await comm.send_to(text_data=json.dumps({"action": "release_seat", "role": "tester"}))
    await receive_all(comm)
    await inject(session=session, user=owner, text="whisper after the seat", to_role="tester")
    await inject(session=session, user=owner, text="for all again")
    got = "".join(await receive_all(comm))
    assert "for all again" in got and "whisper after the seat" not in got
    await comm.disconnect()
