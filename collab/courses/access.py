"""The course rules sessions' permission code asks (registered at start-up,
so sessions never imports courses):

- staff (instructor, TA) of a course facilitate its groups' sessions (owner
  capacity: pause, hint, restart);
- a student of the group a session belongs to is a participant;
- every member of a course (staff included) watches a session shared with
  the course while its visibility is "Shared with a course";
- students may not take or speak from a seat after the assignment is due
  (unless staff reopened the group's session); before it opens the session
  is a draft, so there is nothing to play yet."""

from django.utils import timezone

from collab.courses.models import CourseMember, GroupSession
from collab.courses.permissions import STAFF
from collab.sessions import permissions as session_permissions
from collab.sessions.models import Membership, Session

C = Membership.Capacity


def course_capacity(session: Session, user) -> str | None:
    mine = CourseMember.objects.filter(user=user)
    if mine.filter(role__in=STAFF, course__assignments__group_sessions__session=session).exists():
        return C.OWNER
    if mine.filter(group__group_sessions__session=session).exists():
        return C.PARTICIPANT
    if session.visibility == Session.Visibility.COURSE and mine.filter(course__shares__session=session).exists():
        return C.OBSERVER
    return None


def course_lock(session: Session, user) -> str | None:
    link = GroupSession.objects.filter(session=session).select_related("assignment").first()
    if link is None:
        return None
    assignment = link.assignment
    if CourseMember.objects.filter(user=user, course_id=assignment.course_id, role__in=STAFF).exists():
        return None
    now = timezone.now()
    if now > assignment.due_at and not (link.reopened_until and now < link.reopened_until):
        return f"{assignment.title} was due {timezone.localtime(assignment.due_at):%b %d, %H:%M}: the session is locked."
    return None


def register() -> None:
    session_permissions.register_capacity_rule(course_capacity)
    session_permissions.register_lock(course_lock)
