"""The coding page's socket: /ws/research/projects/<id>/code/.

A keypress on the coding page is one small JSON action (label, delete,
review, note, undo, a verdict on a suggestion). Over the page's socket it is
saved without a request's overhead (HTTP parsing, the middleware chain, the
sign-in's session and user read), which is most of a keypress's time on a
small machine. The HTTP door (`project_annotate`) stays: the page uses it
whenever the socket is not open, and both run the same `annotation.apply`.

Frames: the page sends {"id": n, "action": {...}}; the socket answers
{"id": n, "result": {...}} or {"id": n, "error": "why"}, in order. Access is
checked when the socket opens (the seat, its project and codebook are read
then) and again before every action, in one small query that also brings the
codebook's version up to date: a coder removed from the project, signed out,
deactivated or whose password changed gets {"id": n, "error": ..., "gone":
true} and the socket closes (4403)."""

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from collab.research import annotation
from collab.research.models import Coder

logger = logging.getLogger(__name__)

GONE = "you are signed out or no longer a coder on this project; reload the page"
SHAPE = 'send {"id": a whole number, "action": a JSON object}'


class CodingConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        # Each action's database work runs through database_sync_to_async, which closes the
        # thread's connection before and after (back to the pool); skip channels' extra cleanup hop.
        # (Thread-sensitive, as every consumer here: run with thread_sensitive=False, the pool
        # lost a connection per socket under pytest-asyncio's per-test loops.)
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(message)

    async def connect(self):
        self.project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        self.seat, self.login = await database_sync_to_async(self._sign_in)()
        if self.seat is None:
            await self.close(code=4403)
            return
        await self.accept()

    def _sign_in(self) -> tuple[Coder | None, tuple[str, str] | None]:
        user, session = self.scope.get("user"), self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            return None, None
        login = (session.session_key, user.password)
        seat = annotation.coding_seat(self.project_id, user)
        return (seat, login) if seat is not None and annotation.coding_seat_holds(seat, login) else (None, None)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data if text_data is not None else bytes_data)
        except (TypeError, ValueError):
            frame = None
        ident = frame.get("id") if isinstance(frame, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool):
            ident = None
        if ident is None or not isinstance(frame.get("action"), dict):
            await self.send(text_data=json.dumps({"id": ident, "error": SHAPE}))
            return
        reply = await database_sync_to_async(self._apply)(frame["action"])
        await self.send(text_data=json.dumps({"id": ident, **reply}))
        if reply.get("gone"):
            await self.close(code=4403)

    def _apply(self, action: dict) -> dict:
        user = self.scope["user"]
        if not annotation.coding_seat_holds(self.seat, self.login):
            return {"error": GONE, "gone": True}
        try:
            return {"result": annotation.apply(project=self.seat.project, user=user, action=action)}
        except annotation.AnnotationError as exc:
            return {"error": str(exc)}
        except Exception:  # as the HTTP door's 500: logged, answered, and the socket stays open
            logger.exception("coding socket: action failed (project %s, user %s)", self.project_id, user.pk)
            return {"error": "the server failed to save this change (the failure is logged)"}
