"""The coding page's socket (/ws/research/projects/<id>/code/): the same
actions as the annotate door, answered by id; bad frames get a clear error and
write nothing; access is checked on connect and again on every action."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session as SignIn
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from collab.asgi import application
from collab.research import annotation
from collab.research.codebooks import codebook_save
from collab.research.consumers import GONE, SHAPE, CodingConsumer
from collab.research.models import Annotation, Reviewed
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(owner, alice):
    session = run_session(owner, pad_to=12, title="Socket")
    book = codebook_save(owner=owner, codebook=None, name="Tone",
                         labels=[{"name": "positive", "color": "#16a34a"}, {"name": "negative", "color": "#dc2626"}])
    project = annotation.project_create(owner=owner, name="Tone", codebook=book, sessions=[session])
    annotation.coder_add(project=project, by=owner, user=alice)
    units = list(session.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq").values_list("seq", flat=True))
    return {"session": session, "project": project, "labels": list(book.labels.values_list("pk", flat=True)),
            "units": units}


def sign_in(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(project, user=None, key=None):
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        key = key or await database_sync_to_async(sign_in)(user)
        headers.append((b"cookie", f"sessionid={key}".encode()))
    comm = WebsocketCommunicator(application, f"/ws/research/projects/{project.pk}/code/", headers=headers)
    connected, code = await comm.connect()
    return comm, connected, code


async def ask(comm, frame) -> dict:
    await comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await comm.receive_from(timeout=5))


def written(world) -> tuple[int, int]:
    return Annotation.objects.count(), Reviewed.objects.count()


async def test_a_label_saved_over_the_socket_is_the_doors_answer_and_toggles_off(world, alice):
    project, seq, label = world["project"], world["units"][0], world["labels"][0]
    comm, connected, _ = await open_socket(project, alice)
    assert connected
    reply = await ask(comm, {"id": 7, "action": {"op": "label", "session": world["session"].pk, "seq": seq,
                                                  "label": label}})
    assert reply["id"] == 7 and "error" not in reply
    created = reply["result"]["created"]
    saved = await database_sync_to_async(Annotation.objects.get)()
    assert (created["id"], created["seq"], created["label"]) == (saved.pk, seq, label)
    assert await database_sync_to_async(Reviewed.objects.filter(seq=seq).exists)()
    # The same key again takes the label off, as through the door; and a note on the event.
    again = await ask(comm, {"id": 8, "action": {"op": "label", "session": world["session"].pk, "seq": seq,
                                                 "label": label}})
    assert again["result"]["created"] is None and [r["id"] for r in again["result"]["removed"]] == [saved.pk]
    note = await ask(comm, {"id": 9, "action": {"op": "review", "session": world["session"].pk, "seq": seq,
                                                "note": "sarcastic?"}})
    assert note == {"id": 9, "result": {"reviewed": seq, "note": "sarcastic?"}}
    assert await database_sync_to_async(Annotation.objects.count)() == 0
    await comm.disconnect()


@pytest.mark.parametrize(("frame", "error"), [
    ("not json", SHAPE),
    ("[1, 2]", SHAPE),
    ('{"id": "1", "action": {"op": "noop"}}', SHAPE),
    ('{"id": true, "action": {"op": "noop"}}', SHAPE),
    ('{"id": 3, "action": [1]}', SHAPE),
    ('{"id": 3, "action": {"op": "noop"}}', "unknown action 'noop'"),
    ('{"id": 3, "action": {"op": "label", "session": "1", "seq": 1, "label": 1}}', "'session' must be a whole number"),
    ('{"id": 3, "action": {"op": "label", "session": 1, "seq": 99999999999, "label": 1}}',
     "'seq' must be a whole number"),
])
async def test_a_bad_frame_gets_a_clear_error_and_writes_nothing(world, alice, frame, error):
    before = await database_sync_to_async(written)(world)
    comm, connected, _ = await open_socket(world["project"], alice)
    assert connected
    reply = await ask(comm, frame)
    assert reply["error"] == error and "result" not in reply
    assert reply["id"] == (3 if frame.startswith('{"id": 3') else None)
    # The socket stays open and the next good action is saved.
    good = await ask(comm, {"id": 4, "action": {"op": "label", "session": world["session"].pk,
                                                "seq": world["units"][1], "label": world["labels"][1]}})
    assert good["result"]["created"]["seq"] == world["units"][1]
    assert await database_sync_to_async(written)(world) == (before[0] + 1, before[1] + 1)
    await comm.disconnect()


@pytest.mark.parametrize("note", ["a\x00b", "x" * 1_000_000])
async def test_a_nul_byte_or_a_megabyte_note_is_refused_and_writes_nothing(world, alice, note):
    comm, connected, _ = await open_socket(world["project"], alice)
    assert connected
    reply = await ask(comm, {"id": 1, "action": {"op": "review", "session": world["session"].pk,
                                                 "seq": world["units"][0], "note": note}})
    assert reply["error"].startswith("the note ") and "result" not in reply
    assert await database_sync_to_async(written)(world) == (0, 0)
    await comm.disconnect()


async def test_only_the_projects_coders_may_open_it(world, owner, outsider):
    for user in (None, owner, outsider):  # anonymous; the owner adjudicates but codes nothing; a stranger
        comm, connected, code = await open_socket(world["project"], user)
        assert not connected and code == 4403, user


def remove_alice(world, alice, key):
    annotation.coder_remove(project=world["project"], by=world["project"].owner,
                            coder_id=world["project"].coders.get(user=alice).pk)


def sign_out(world, alice, key):
    SignIn.objects.filter(session_key=key).delete()


def new_password(world, alice, key):
    alice.set_password("a-new-password-42")
    alice.save()


def deactivate(world, alice, key):
    alice.is_active = False
    alice.save()


@pytest.mark.parametrize("change", [remove_alice, sign_out, new_password, deactivate])
async def test_access_is_checked_again_on_every_action(world, alice, change):
    key = await database_sync_to_async(sign_in)(alice)
    comm, connected, _ = await open_socket(world["project"], alice, key=key)
    assert connected
    label = {"op": "label", "session": world["session"].pk, "label": world["labels"][0]}
    assert "result" in await ask(comm, {"id": 1, "action": {**label, "seq": world["units"][0]}})
    await database_sync_to_async(change)(world, alice, key)
    before = await database_sync_to_async(Annotation.objects.count)()
    reply = await ask(comm, {"id": 2, "action": {**label, "seq": world["units"][1]}})
    assert reply == {"id": 2, "error": GONE, "gone": True}
    assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"
    assert await database_sync_to_async(Annotation.objects.count)() == before


def test_a_keypress_over_the_socket_costs_one_query_for_access_and_the_labels_own(world, alice):
    """The socket's work for a label, run as its worker thread runs it: the seat and sign-in
    checked again (one query), then the label's own (the unit and label, the coder's labels, the insert,
    the reviewed mark), the action's receipt, plus BEGIN and COMMIT where the database
    sends them."""
    key = sign_in(alice)
    consumer = CodingConsumer()
    consumer.scope = {"user": alice, "session": None}
    consumer.project_id, consumer.login = world["project"].pk, (key, alice.password)
    consumer.seat = annotation.coding_seat(world["project"].pk, alice)
    action = {"op": "label", "session": world["session"].pk, "seq": world["units"][2], "label": world["labels"][0],
              "key": "a-keypress"}
    with CaptureQueriesContext(connection) as queries:
        reply = consumer._apply(action)
    assert reply["result"]["created"]["seq"] == world["units"][2]
    assert len(queries) <= 8, "\n".join(q["sql"] for q in queries.captured_queries)


def edit_codebook(world, owner, multi_label: bool):
    book = world["project"].codebook
    labels = [{"id": label.pk, "name": label.name, "color": label.color} for label in book.labels.order_by("pk")]
    return codebook_save(owner=owner, codebook=book, name=book.name, multi_label=multi_label, labels=labels)


async def test_a_codebook_edited_while_the_socket_is_open_is_the_one_labels_follow(world, owner, alice):
    """Opened on a single-label codebook (v1); the owner edits it to multi-label (v2): the next
    labels record v2 and sit beside each other instead of replacing each other."""
    session, seq, (first, second) = world["session"], world["units"][0], world["labels"]
    comm, connected, _ = await open_socket(world["project"], alice)
    assert connected
    await ask(comm, {"id": 1, "action": {"op": "label", "session": session.pk, "seq": seq, "label": first}})
    edited = await database_sync_to_async(edit_codebook)(world, owner, True)
    reply = await ask(comm, {"id": 2, "action": {"op": "label", "session": session.pk, "seq": seq, "label": second}})
    assert reply["result"]["removed"] == []  # multi-label now: the first label stays
    rows = await database_sync_to_async(lambda: sorted(Annotation.objects.values_list("label_id", "codebook_version")))()
    assert rows == [(first, 1), (second, edited.version)] and edited.version == 2
    await comm.disconnect()


async def test_an_action_sent_again_is_answered_from_its_receipt_by_either_door(world, alice):
    """The page sends an action again when its answer was lost (a socket closed before it answered):
    over the socket or by the HTTP door, the copy gets the first answer, and the label stays on."""
    session, seq, label = world["session"], world["units"][0], world["labels"][0]
    action = {"op": "label", "session": session.pk, "seq": seq, "label": label, "key": "k3y-0f-this-press"}
    comm, connected, _ = await open_socket(world["project"], alice)
    assert connected
    first = await ask(comm, {"id": 1, "action": action})
    again = await ask(comm, {"id": 2, "action": action})
    assert first["result"]["created"]["seq"] == seq and again == {**first, "id": 2}

    def by_the_door():
        client = Client()
        client.force_login(alice)
        return client.post(f"/research/projects/{world['project'].pk}/annotate/", json.dumps(action),
                           content_type="application/json").json()

    assert await database_sync_to_async(by_the_door)() == first["result"]
    assert await database_sync_to_async(lambda: list(Annotation.objects.values_list("seq", "label_id")))() == [
        (seq, label)]
    # A new key is a new keypress: the label comes off.
    off = await ask(comm, {"id": 3, "action": {**action, "key": "another-press"}})
    assert off["result"]["created"] is None and off["result"]["removed"][0]["id"] == first["result"]["created"]["id"]
    await comm.disconnect()


async def test_a_copy_the_server_would_refuse_gets_the_first_answer(world, alice):
    """Deleting a label by id, sent twice: the copy finds nothing to delete, and is answered as the first was."""
    session, seq, label = world["session"], world["units"][0], world["labels"][0]
    comm, connected, _ = await open_socket(world["project"], alice)
    assert connected
    made = await ask(comm, {"id": 1, "action": {"op": "label", "session": session.pk, "seq": seq, "label": label}})
    delete = {"op": "delete", "id": made["result"]["created"]["id"], "key": "delete-this-one"}
    first = await ask(comm, {"id": 2, "action": delete})
    assert first["result"]["removed"][0]["id"] == made["result"]["created"]["id"]
    assert await ask(comm, {"id": 3, "action": delete}) == {**first, "id": 3}
    unkeyed = await ask(comm, {"id": 4, "action": {k: v for k, v in delete.items() if k != "key"}})
    assert unkeyed == {"id": 4, "error": "no such annotation of yours"}
    await comm.disconnect()


@pytest.mark.parametrize("key", [12345678, "short", "has spaces in it", "nul\x00byte-here", "x" * 65, ["a" * 10]])
async def test_a_bad_key_is_refused_and_writes_nothing(world, alice, key):
    comm, connected, _ = await open_socket(world["project"], alice)
    assert connected
    reply = await ask(comm, {"id": 1, "action": {"op": "label", "session": world["session"].pk,
                                                 "seq": world["units"][0], "label": world["labels"][0], "key": key}})
    assert reply == {"id": 1, "error": "'key' must be 8 to 64 letters, digits, '-' or '_'"}
    assert await database_sync_to_async(written)(world) == (0, 0)
    await comm.disconnect()
