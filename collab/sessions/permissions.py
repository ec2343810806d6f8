"""Who may do what in a session. Every view and websocket action asks here."""

from collab.sessions.models import Membership, Session

C = Membership.Capacity


class Refused(Exception):
    """An action the user may not take, or cannot take now; the message says why."""


def capacity(session: Session, user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    if session.owner_id == user.pk:
        return C.OWNER
    found = Membership.objects.filter(session=session, user=user).values_list("capacity", flat=True).first()
    if found:
        return found
    if session.visibility == Session.Visibility.PUBLIC:
        return C.OBSERVER
    return None


def can_view(session: Session, user) -> bool:
    return capacity(session, user) is not None


def require_owner(session: Session, user) -> None:
    if capacity(session, user) != C.OWNER:
        raise Refused("Only the session's owner can do that.")


def require_seat_taker(session: Session, user) -> None:
    if capacity(session, user) not in {C.OWNER, C.PARTICIPANT}:
        raise Refused("Only the owner and participants can take a seat; observers watch.")
