"""Who may do what in a course. Every course view asks `require`; the
websocket of the wall asks it on connect and on every action."""

from collab.courses.models import Course, CourseMember

R = CourseMember.Role
STAFF = {R.INSTRUCTOR, R.TA}

# TAs may do everything but delete the course; students see the course page,
# their own group's sessions and their own grades.
ALLOWED = {
    "view": {R.INSTRUCTOR, R.TA, R.STUDENT},
    "manage": STAFF,
    "delete": {R.INSTRUCTOR},
}


class NotMember(Exception):
    """Not in the course at all: the course is not shown to them (404)."""


class Forbidden(Exception):
    """In the course, but the role does not allow it (403); the message says why."""


def membership(course: Course, user) -> CourseMember | None:
    if user is None or not user.is_authenticated:
        return None
    return CourseMember.objects.filter(course=course, user=user).select_related("group").first()


def require(course: Course, user, action: str) -> CourseMember:
    member = membership(course, user)
    if member is None:
        raise NotMember()
    if member.role not in ALLOWED[action]:
        raise Forbidden({"manage": "Only the course's instructors and TAs can do that.",
                         "delete": "Only an instructor can delete the course."}.get(action, "Not allowed."))
    return member


def is_staff(member: CourseMember | None) -> bool:
    return member is not None and member.role in STAFF
