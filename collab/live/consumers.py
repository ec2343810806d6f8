"""The live session socket: /ws/sessions/<id>/.

Permission is checked in connect() and again for every action, and again
for the open socket whenever the session's memberships or visibility change
(closed with a reason if access is gone). Every frame from the browser is
checked (collab/live/frames.py) and gets its effect or a `refused`/`error`
answer; no frame closes the socket. The client sends {"type": "hello",
"last_seq": N, "seat": "<role of its composer>", "view_as": "<role>"} on
each (re)connect and gets exactly the events after N from the database;
live events whose seq skips ahead (a dropped channel message) are filled
from the database too. Each viewer gets only the events of its view (a
seated player: its role's, collab/sessions/visibility.py). Presence is
renewed by a heartbeat, so a socket whose process died drops out by itself.
"""

import asyncio
import contextlib
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from collab import control
from collab.engine.plan import plan_form_steps
from collab.live import bus, fragments, frames, presence
from collab.sessions import permissions, selectors, services, visibility
from collab.sessions.models import Membership, Session
from collab.sessions.permissions import Refused

logger = logging.getLogger(__name__)
CATCH_UP_LIMIT = 2000
LAYER_TIMEOUT = 3.0  # seconds a connect waits on the channel layer before it counts as down
# The close code for "live updates are down, try again": daphne lets an app send
# only 1000 or 3000-4999, so not 1013; static/js/live.js reconnects on it, with backoff.
TRY_AGAIN_LATER = 4503


def live_status(*, unavailable: bool) -> str:
    """The page's live-updates notice, shown while the channel layer is down (live.js clears it on open)."""
    return render_to_string("live/live_status.html", {"unavailable": unavailable})


# Where an action's confirmation shows: next to the control that sent it.
FEEDBACK_TARGETS = {"inject": "inject-feedback", "take_seat": "seat-feedback", "release_seat": "seat-feedback",
                    "say": "composer-feedback"}


class SessionConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        """Channels subscribes the socket's own channel on Redis before connect()
        runs; with Redis down that raised, and the handshake got a 500. Answer
        with the notice and a code the page retries on instead."""
        try:
            await super().__call__(scope, receive, send)
        except (RedisError, OSError) as exc:
            if hasattr(self, "channel_name"):  # the layer failed later on: not a connect
                raise
            logger.warning("live updates unavailable, a socket is told to retry: %s", exc)
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.send", "text": live_status(unavailable=True)})
                await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})

    async def dispatch(self, message):
        """Channel-layer messages (deltas, events) need no database: skip the
        per-message close_old_connections thread hop that channels does."""
        if message["type"].startswith("websocket."):
            return await super().dispatch(message)
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.user = self.scope.get("user")
        self.last_seq = None
        self.my_seat = None  # the role whose composer the page shows: the hello says
        self.bubbles: set[tuple[int, str]] = set()  # (turn, actor) of the typing bubbles this page shows
        self.shown_chars: dict[str, int] = {}  # per bubble, the characters of the reply it already holds
        self.session = await self._load()
        self.capacity = None  # kept for rendering this viewer's seat buttons; actions check again
        self.view_as = None
        if self.session is not None:
            self.capacity = await database_sync_to_async(permissions.capacity)(self.session, self.user)
        if self.capacity is None:
            await self.close(code=4403)
            return
        self.roles = {r["name"]: r for r in self.session.team_snapshot.get("roles", [])}
        self.view = await database_sync_to_async(visibility.view_for)(self.session, self.user, self.capacity)
        group = bus.group_name(self.session_id)
        try:
            await asyncio.wait_for(self.channel_layer.group_add(group, self.channel_name), LAYER_TIMEOUT)
        except Exception as exc:  # Redis is down: say so, and the page retries; never a 500
            logger.warning("live updates of session %s unavailable: %s", self.session_id, exc)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.channel_layer.group_discard(group, self.channel_name), LAYER_TIMEOUT)
            await self.accept()
            await self.send(text_data=live_status(unavailable=True))
            await self.close(code=TRY_AGAIN_LATER)
            return
        self.group = group
        await self.accept()
        try:
            self.present = await presence.touch(self.session_id, self.user.username, self.channel_name)
        except Exception:  # the heartbeat tries again, and says so if Redis is really down
            self.present = [self.user.username]
        await bus.send(self.session_id, {"type": "presence.update", "names": self.present})
        self.heartbeat = asyncio.create_task(self._heartbeat())

    async def disconnect(self, code):
        if getattr(self, "heartbeat", None):
            self.heartbeat.cancel()
        if getattr(self, "group", None):
            # Never raises, Redis down or not: what is not undone here expires with the heartbeat's TTL.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.channel_layer.group_discard(self.group, self.channel_name), LAYER_TIMEOUT)
            with contextlib.suppress(Exception):
                names = await asyncio.wait_for(
                    presence.leave(self.session_id, self.user.username, self.channel_name), LAYER_TIMEOUT)
                await asyncio.wait_for(
                    bus.send(self.session_id, {"type": "presence.update", "names": names}), LAYER_TIMEOUT)

    async def _heartbeat(self) -> None:
        """Renew this socket's presence; when the renewal shows that a dead
        socket expired (its process was killed), tell everyone. A renewal that
        fails means Redis is down, and this socket would miss broadcasts
        silently: say so and close with the code the page reconnects on."""
        while True:
            await asyncio.sleep(presence.ttl_seconds() / 3)
            try:
                names = await asyncio.wait_for(
                    presence.touch(self.session_id, self.user.username, self.channel_name), LAYER_TIMEOUT)
            except Exception as exc:
                logger.warning("live updates of session %s lost, a socket is told to retry: %s", self.session_id, exc)
                await self.send(text_data=live_status(unavailable=True))
                await self.close(code=TRY_AGAIN_LATER)
                return
            if names != self.present:
                self.present = names
                await bus.send(self.session_id, {"type": "presence.update", "names": names})

    @database_sync_to_async
    def _load(self):
        return Session.objects.filter(pk=self.session_id).first()

    # --- from the browser -------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        """Every frame gets its effect or an answer saying why not; none closes the socket."""
        try:
            frame = frames.parse(text_data, bytes_data)
            if frame.action == "hello":
                await self._hello(frame.fields)
            else:
                done = await self._act(frame.action, frame.fields)
                if done:  # said next to the control that was used
                    await self.send(text_data=fragments.feedback(FEEDBACK_TARGETS[frame.action], done))
        except frames.BadFrame as exc:
            await self._answer("error", exc.action, str(exc))
        except Refused as exc:
            await self._answer("refused", frame.action, str(exc))
            if frame.action == "edit_plan" and self.capacity == Membership.Capacity.OWNER:
                await self.send(text_data=await database_sync_to_async(self._plan_fields_now)())
        except Exception:
            logger.exception("socket frame failed for session %s", self.session_id)
            await self._answer("error", None, "Something went wrong on the server; nothing was changed.")

    async def _answer(self, kind: str, action: str | None, reason: str) -> None:
        await self.send(text_data=fragments.flash(reason))
        await self.send(text_data=json.dumps({"type": kind, "action": action, "reason": reason}))

    async def _hello(self, fields: dict) -> None:
        self.my_seat = fields["seat"]
        if fields["view_as"] != self.view_as:
            self.view_as = fields["view_as"]
            self.view = await database_sync_to_async(visibility.view_for)(
                self.session, self.user, self.capacity, self.view_as)
        await self._catch_up(fields["last_seq"])
        await self._show_turn_in_flight()

    @database_sync_to_async
    def _act(self, action: str, fields: dict) -> str:
        """Do the action; for those that answer next to their control, say what was done."""
        user = User.objects.get(pk=self.user.pk)
        session = Session.objects.get(pk=self.session_id)
        if not permissions.can_view(session, user):
            raise Refused("You no longer have access to this session.")
        simple = {"pause": services.session_pause, "resume": services.session_resume, "step": services.session_step,
                  "stop": services.session_stop, "start": services.session_start}
        if action in simple:
            simple[action](session=session, user=user)
        elif action == "inject":
            to_role = fields["to_role"]
            services.session_inject(session=session, user=user, text=fields["text"], to_role=to_role)
            return f"Whispered to {to_role}." if to_role else "Sent to everyone."
        elif action == "edit_plan":
            services.session_edit_plan(session=session, user=user, steps=plan_form_steps(
                fields["text"], fields["owner"], fields["status"]), base_version=fields["base_version"])
        elif action == "take_seat":
            seat = services.seat_take(session=session, user=user, role=fields["role"])
            return f"You now play {seat.role_name}."
        elif action == "release_seat":
            services.seat_release(session=session, user=user, role=fields["role"])
            return f"{fields['role']} is played by its agent again."
        elif action == "say":
            services.seat_message(session=session, user=user, role=fields["role"], text=fields["text"])
            return f"Sent as {fields['role']}."
        return ""

    # --- catch-up ----------------------------------------------------------------

    async def _catch_up(self, after: int) -> None:
        missing, last = await database_sync_to_async(selectors.events_after)(self.session_id, after, CATCH_UP_LIMIT)
        if after > last or len(missing) >= CATCH_UP_LIMIT:
            await self.send(text_data=fragments.reload_page())
            return
        self.last_seq = after
        for event in missing:
            await self._send_event(event)

    async def _show_turn_in_flight(self) -> None:
        """A turn that started before this socket: show its typing bubbles; the rest of its deltas land there."""
        turn = await control.turn_in_flight(self.session_id)
        status = await database_sync_to_async(
            lambda: Session.objects.filter(pk=self.session_id).values_list("next_turn", "status").first())()
        if turn and status and status[0] == turn["turn"] and status[1] == Session.Status.RUNNING:
            texts = await control.turn_texts(self.session_id, turn["turn"], turn["actors"])
            await self._turn_started(turn, texts)

    async def _send_event(self, event: dict) -> None:
        ended = bubbles_ended_by(event, self.bubbles)
        self.bubbles -= ended
        html = fragments.bubbles_gone(sorted(ended))
        if self.view.can_see(event):
            html += fragments.event_oob_cached(self.session_id, event, self.roles)
        if html:
            await self.send(text_data=html)
        self.last_seq = event["seq"]
        if event["kind"] == "plan" and self.capacity == Membership.Capacity.OWNER:
            # The owner's editor moves to the new version, so a save is never based on a stale plan.
            await self.send(text_data=fragments.plan_edit_fields(event["payload"].get("plan", {}),
                                                                 list(self.roles.values())))
        if changes_seats(event):
            html = await database_sync_to_async(self._seats_html)(event["seq"], event["kind"] == "state")
            await self.send(text_data=html)

    def _plan_fields_now(self) -> str:
        plan = (Session.objects.values_list("state", flat=True).get(pk=self.session_id) or {}).get("plan", {})
        return fragments.plan_edit_fields(plan, list(self.roles.values()))

    def _seats_html(self, seq: int, ended: bool) -> str:
        """Seats differ per viewer (whose buttons, whose composer): rendered here
        for this socket's user, from the session and seats read once per
        process for this seq. The composer is swapped only when this user's own
        seat changed or the session ended, so nobody else loses a draft."""
        session, seats = _seats_at(self.session_id, seq)
        view = selectors.seat_view(session, seats, self.user, self.capacity)
        mine = view["my_seat"].role_name if view["my_seat"] else None
        composer = ended or mine != self.my_seat
        if mine != (self.view.role if self.view.seated else None):
            self.view = visibility.view_for(session, self.user, self.capacity, self.view_as)  # a seat's view from now on
        self.my_seat = mine
        return fragments.seats(view, composer)

    # --- from the channel layer --------------------------------------------------

    async def log_event(self, message):
        event = message["event"]
        if self.last_seq is None or event["seq"] <= self.last_seq:
            return  # before the hello, catch-up delivers it; at or below last_seq, already sent
        if event["seq"] > self.last_seq + 1:
            await self._catch_up(self.last_seq)  # a dropped broadcast: fill the gap from the database
            return
        await self._send_event(event)

    async def turn_start(self, message):
        await self._turn_started(message)

    async def _turn_started(self, turn: dict, texts: dict[str, str] | None = None) -> None:
        keys = {(turn["turn"], actor) for actor in turn["actors"] if self.view.hears(actor)}
        if keys and keys <= self.bubbles:
            return  # announced both by the broadcast and by the hello: one bubble per actor
        stale, self.bubbles = self.bubbles - keys, keys  # bubbles of a turn that ended without an event of theirs
        self.shown_chars = {actor: len(text) for actor, text in (texts or {}).items()}
        html = fragments.bubbles_gone(sorted(stale))
        actors = [a for a in turn["actors"] if (turn["turn"], a) in keys]
        if actors:
            html += fragments.turn_start(turn["turn"], actors, self.roles, turn["live"], texts)
        if html:
            await self.send(text_data=html)

    async def turn_delta(self, message):
        actor, text, offset = message["actor"], message["text"], message.get("offset", 0)
        if (message["turn"], actor) not in self.bubbles:
            return  # the turn was cut or logged already, began before this page, or is not this view's to hear
        shown = self.shown_chars.get(actor, 0)
        if offset + len(text) <= shown:
            return  # already in the bubble this page was sent on connecting
        text = text[max(0, shown - offset):]
        self.shown_chars[actor] = offset + len(message["text"])
        await self.send(text_data=fragments.delta(message["turn"], actor, text))

    async def turn_reset(self, message):
        if (message["turn"], message["actor"]) not in self.bubbles:
            return
        self.shown_chars[message["actor"]] = 0
        await self.send(text_data=fragments.delta_reset(message["turn"], message["actor"]))

    async def session_stats(self, message):
        await self.send(text_data=fragments.stats(message["stats"]))

    async def access_changed(self, message):
        """A membership or the session's visibility changed: re-check this
        viewer, and close with the reason if they lost access."""
        self.capacity, self.view = await database_sync_to_async(self._recheck)()
        if self.capacity is None:
            reason = "You no longer have access to this session."
            await self._answer("closed", None, reason)
            await self.close(code=4403, reason=reason)

    def _recheck(self):
        session = Session.objects.filter(pk=self.session_id).first()
        user = User.objects.filter(pk=self.user.pk).first()
        capacity = permissions.capacity(session, user) if session and user else None
        if capacity is None:
            return None, self.view
        return capacity, visibility.view_for(session, user, capacity, self.view_as)

    async def presence_update(self, message):
        self.present = message["names"]
        await self.send(text_data=fragments.presence(message["names"]))


_seat_reads: dict[int, tuple[int, Session, list]] = {}


def _seats_at(session_id: int, seq: int) -> tuple[Session, list]:
    """The session and its seats as of a seat-changing event, read once per
    process, not once per observer (each observer renders its own view)."""
    cached = _seat_reads.get(session_id)
    if cached is None or cached[0] != seq:
        cached = _seat_reads[session_id] = (seq, Session.objects.get(pk=session_id), selectors.seats(session_id))
        if len(_seat_reads) > 1000:
            _seat_reads.pop(next(iter(_seat_reads)))
    return cached[1], cached[2]


def bubbles_ended_by(event: dict, bubbles: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """The typing bubbles an event ends, so that the page shows what the log
    holds: a session that stops running (pause, stop, failure, a human's
    turn) has no turn in flight, and a turn's engine events (message, action,
    vote, error, score) end its bubbles and any an earlier turn left. A
    facilitator's event during a turn (actor "user:...") ends none."""
    if event["kind"] == "state":
        return set(bubbles) if (event.get("payload") or {}).get("status") != Session.Status.RUNNING else set()
    turn = event.get("turn_index")
    if turn is None or event["actor"].startswith("user:"):
        return set()
    return {key for key in bubbles if key[0] <= turn}


def changes_seats(event: dict) -> bool:
    """A seat taken or handed back, or a session's end (no more seats to take)."""
    payload = event.get("payload") or {}
    if event["kind"] == "intervention":
        return payload.get("action") in {"seat_taken", "seat_left"}
    return event["kind"] == "state" and payload.get("status") in {Session.Status.FINISHED, Session.Status.FAILED}

