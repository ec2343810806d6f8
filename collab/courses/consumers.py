"""The instructor's live wall: /ws/courses/assignments/<id>/wall/.

One socket joins the live group of every current group session of the
assignment (and the wall's own group, for help flags). Each tile is kept in
memory from the messages sessions already broadcast (events, turn starts,
deltas, stats) and re-rendered on change, so a busy wall costs no database
read per update. Staff only: checked on connect and again on every action."""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.utils.html import escape

from collab.courses import permissions, selectors, services, wall_bus
from collab.courses.models import Assignment
from collab.live import bus, presence
from collab.sessions.models import Session
from collab.sessions.permissions import Refused

SPEECH_CHARS = 280


def render_tile(tile: dict, oob: bool = True) -> str:
    return render_to_string("courses/_tile.html", {"t": tile, "oob": oob})


class WallConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        # Broadcasts need no database: skip channels' per-message connection cleanup hop.
        if message["type"].startswith("websocket."):
            return await super().dispatch(message)
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(message)

    async def connect(self):
        self.assignment_id = int(self.scope["url_route"]["kwargs"]["assignment_id"])
        self.user = self.scope.get("user")
        self.tiles: dict[int, dict] = {}
        self.joined = False
        if not await database_sync_to_async(self._load)():
            await self.close(code=4403)
            return
        for session_id in self.tiles:
            await self.channel_layer.group_add(bus.group_name(session_id), self.channel_name)
        await self.channel_layer.group_add(wall_bus.group_name(self.assignment_id), self.channel_name)
        self.joined = True
        await self.accept()
        await self._touch_all()  # watched: the engine then sends deltas and stats
        self.heartbeat = asyncio.create_task(self._heartbeat())
        # Anything that changed between the page's render and this socket.
        await self.send(text_data="".join(render_tile(t) for t in self.tiles.values()))

    def _load(self) -> bool:
        assignment = Assignment.objects.select_related("course").filter(pk=self.assignment_id).first()
        if assignment is None or not self._may_manage(assignment):
            return False
        self.tiles = {t["session_id"]: t for t in map(selectors.tile, selectors.group_sessions(assignment))}
        return True

    def _may_manage(self, assignment: Assignment) -> bool:
        try:
            permissions.require(assignment.course, self.user, "manage")
        except (permissions.NotMember, permissions.Forbidden):
            return False
        return True

    async def _touch_all(self) -> None:
        for session_id in self.tiles:
            await presence.touch(session_id, self.user.username, self.channel_name)

    async def _heartbeat(self) -> None:
        """Presence expires unless renewed, so a wall whose process died stops counting as a watcher."""
        while True:
            await asyncio.sleep(presence.ttl_seconds() / 3)
            await self._touch_all()

    async def disconnect(self, code):
        if not self.joined:
            return
        if getattr(self, "heartbeat", None):
            self.heartbeat.cancel()
        for session_id in self.tiles:
            await self.channel_layer.group_discard(bus.group_name(session_id), self.channel_name)
            await presence.leave(session_id, self.user.username, self.channel_name)
        await self.channel_layer.group_discard(wall_bus.group_name(self.assignment_id), self.channel_name)

    # --- actions from the wall -----------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        try:
            data = json.loads(text_data or "{}")
        except json.JSONDecodeError:
            return
        try:
            note = await database_sync_to_async(self._act)(data)
        except (Refused, services.CourseError, permissions.Forbidden) as exc:
            await self.send(text_data=_flash(str(exc), error=True))
        else:
            if note:
                await self.send(text_data=_flash(note))

    def _act(self, data: dict) -> str:
        user = User.objects.get(pk=self.user.pk)
        assignment = Assignment.objects.select_related("course").get(pk=self.assignment_id)
        if not self._may_manage(assignment):
            raise Refused("You no longer teach this course.")
        action, text = data.get("action"), str(data.get("text") or "")
        link_id = int(data["link"]) if str(data.get("link") or "").isdigit() else None
        if action == "pause":
            services.group_pause(assignment=assignment, by=user, link_id=link_id or 0)
            return "Paused."
        if action == "hint":
            services.hint(assignment=assignment, by=user, text=text, link_id=link_id or 0)
            return "Hint sent."
        if action == "broadcast":
            sent = services.hint(assignment=assignment, by=user, text=text)
            return f"Hint sent to {sent} group{'s' if sent != 1 else ''}."
        if action == "clear_help":
            link = assignment.group_sessions.filter(pk=link_id or 0).first()
            if link is None:
                raise Refused("No such group.")
            services.help_clear(link=link, by=user)
            return ""
        raise Refused(f"Unknown action {action!r}.")

    # --- from the sessions' groups --------------------------------------------------

    async def _update(self, session_id: int | None, **changes) -> None:
        tile = self.tiles.get(session_id)
        if tile is None:
            return
        tile.update(changes)
        await self.send(text_data=render_tile(tile))

    async def log_event(self, message):
        sid, event = message.get("session_id"), message["event"]
        tile = self.tiles.get(sid)
        if tile is None:
            return
        payload = event.get("payload") or {}
        if event["kind"] == "state" and payload.get("status"):
            status = payload["status"]
            awaiting = payload.get("awaiting") or [] if status == Session.Status.AWAITING_HUMAN else []
            await self._update(sid, status=status, status_label=Session.Status(status).label, awaiting=awaiting,
                               speaking=[] if status != Session.Status.RUNNING else tile["speaking"])
        elif event["kind"] == "scenario_state":
            await self._update(sid, score=_score(payload))
        elif event["kind"] == "message" and not event["actor"].startswith("user:"):
            await self._update(sid, speaking=[event["actor"]], speech=str(payload.get("text") or "")[-SPEECH_CHARS:],
                               last_turn=event.get("turn_index"))

    async def turn_start(self, message):
        await self._update(message.get("session_id"), speaking=list(message["actors"]), speech="",
                           turn=message["turn"])

    async def turn_delta(self, message):
        tile = self.tiles.get(message.get("session_id"))
        if tile is None:
            return
        tile["speech"] = (tile["speech"] + message["text"])[-SPEECH_CHARS:]
        await self.send(text_data=f'<span id="speech-text-{tile["session_id"]}" hx-swap-oob="beforeend">'
                                  f'{escape(message["text"])}</span>')

    async def session_stats(self, message):
        s = message["stats"]
        tile = self.tiles.get(message.get("session_id"))
        if tile is None:
            return
        awaiting = tile["awaiting"] if s["status"] == Session.Status.AWAITING_HUMAN else []
        await self._update(tile["session_id"], status=s["status"], status_label=Session.Status(s["status"]).label,
                           turn=s["turn"], max_turns=s["max_turns"], tokens=s["tokens"], cost=s["cost"],
                           awaiting=awaiting)

    async def wall_help(self, message):
        await self._update(message.get("session_id"), help=message["help"], help_note=message["note"])


def _score(payload: dict) -> float | None:
    totals = (payload.get("metrics") or {}).get("rubric_totals") or {}
    return round(list(totals.values())[-1], 2) if totals else None


def _flash(text: str, error: bool = False) -> str:
    return (f'<div id="wall-flash" hx-swap-oob="innerHTML"><p class="flash {"flash-error" if error else "flash-success"}"'
            f' role="status">{escape(text)}</p></div>')
