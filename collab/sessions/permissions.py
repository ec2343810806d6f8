"""Who may do what in a session. Every view and websocket action asks here.

Other apps grant access without sessions importing them (sessions never
imports courses): at start-up they register a capacity rule, (session, user)
-> capacity or None, asked after the owner and explicit memberships, and a
lock, (session, user) -> why the user may not play now (a course's due time)
or None, asked before a seat is taken or spoken from."""

from collab.sessions.models import Membership, Session

C = Membership.Capacity


class Refused(Exception):
    """An action the user may not take, or cannot take now; the message says why."""


_capacity_rules: list = []
_locks: list = []


def register_capacity_rule(rule) -> None:
    if rule not in _capacity_rules:
        _capacity_rules.append(rule)


def register_lock(lock) -> None:
    if lock not in _locks:
        _locks.append(lock)


def capacity(session: Session, user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    if session.owner_id == user.pk:
        return C.OWNER
    found = Membership.objects.filter(session=session, user=user).values_list("capacity", flat=True).first()
    if found:
        return found
    for rule in _capacity_rules:
        found = rule(session, user)
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


def require_unlocked(session: Session, user) -> None:
    for lock in _locks:
        reason = lock(session, user)
        if reason:
            raise Refused(reason)
