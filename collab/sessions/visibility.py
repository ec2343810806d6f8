"""Which events a viewer sees. A human holding a seat sees exactly what the
agent in that seat would see: the same visible-events function that builds
the role's prompt (collab.engine.prompts.visible_events, the session's
topology) filters the live page, the socket and the transcript, whispers
and private scenario observations included.

Owners, observers and annotators see everything, or one role's view when
they ask for it ("view as role"). A participant who holds no seat sees what
is addressed to everyone: no whispers, no private observations.
"""

from dataclasses import dataclass

from collab.engine.prompts import visible_events
from collab.engine.topologies import TOPOLOGIES, Topology
from collab.sessions.models import Membership, Seat, Session

C = Membership.Capacity
SEES_ALL = {C.OWNER, C.OBSERVER, C.ANNOTATOR}


@dataclass(frozen=True)
class View:
    """`role`: the role whose view this is; None: everything. `public_only`:
    only what is addressed to everyone (a participant without a seat)."""

    role: str | None
    topology: Topology
    params: dict
    roles: tuple[str, ...]
    public_only: bool = False
    seated: bool = False  # the role is the viewer's own seat: no switching away from it

    @property
    def everything(self) -> bool:
        return self.role is None and not self.public_only

    def can_see(self, event: dict) -> bool:
        if self.everything:
            return True
        if self.public_only:
            return event.get("audience") is None
        return bool(visible_events([event], self.role, self.topology, self.params, list(self.roles)))

    def visible(self, events: list[dict]) -> list[dict]:
        if self.everything:
            return events
        if self.public_only:
            return [e for e in events if e.get("audience") is None]
        return visible_events(events, self.role, self.topology, self.params, list(self.roles))

    def hears(self, actor: str) -> bool:
        """Whether this view shows `actor`'s reply as it streams (before its
        event exists to be checked): the topology's who-hears-whom."""
        if self.everything or actor == self.role or actor not in self.roles:
            return True
        if self.public_only:
            return True
        return self.topology.hears(self.role, actor, self.params, list(self.roles))


def seat_of(session: Session, user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    return (Seat.objects.filter(session=session, user=user, holder=Seat.Holder.HUMAN)
            .values_list("role_name", flat=True).first())


def view_for(session: Session, user, capacity: str | None, view_as: str | None = None) -> View:
    """The view `user` gets; `view_as` (a role name) is honoured only for
    those who may see everything."""
    roles = tuple(session.role_names())
    topology = TOPOLOGIES.items.get(session.topology) or TOPOLOGIES.get("everyone")
    base = {"topology": topology, "params": session.topology_params or {}, "roles": roles}
    seat = seat_of(session, user)
    if seat is not None:
        return View(role=seat, seated=True, **base)
    if capacity in SEES_ALL:
        return View(role=view_as if view_as in roles else None, **base)
    return View(role=None, public_only=True, **base)
