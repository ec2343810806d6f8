"""Writes on courses: rosters, groups, assignments and their sessions, help
flags, hints and grades. Sessions are created and steered only through
collab.sessions.services; each function checks the caller's course role."""

import random
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from collab.courses import roster as roster_mod
from collab.courses import wall_bus
from collab.courses.models import (
    Assignment,
    Course,
    CourseMember,
    CourseShare,
    Grade,
    Group,
    GroupSession,
    RosterEntry,
)
from collab.courses.permissions import Forbidden, R, require
from collab.sessions import services as session_services
from collab.sessions.models import Seat, Session
from collab.sessions.permissions import Refused
from collab.teams.models import Role, Team
from collab.teams.services import team_create_from_preset


class CourseError(ValueError):
    """Bad input: the message names the field or row; nothing was written."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))


# --- courses and members --------------------------------------------------------

@transaction.atomic
def course_create(*, by, title: str, code: str = "") -> Course:
    title = (title or "").strip()
    if not title or "\x00" in title or len(title) > 200:
        raise CourseError("Title: give the course a name of at most 200 characters.")
    course = Course.objects.create(title=title, code=(code or "").strip()[:40], created_by=by)
    CourseMember.objects.create(course=course, user=by, role=R.INSTRUCTOR)
    return course


def course_delete(*, course: Course, by) -> None:
    require(course, by, "delete")
    course.delete()


def _find_user(login: str) -> User | None:
    login = login.strip().lower()
    if not login:
        return None
    return User.objects.filter(Q(username__iexact=login) | (Q(email__iexact=login) & ~Q(email=""))).first()


@transaction.atomic
def staff_add(*, course: Course, by, login: str, role: str = R.TA) -> CourseMember:
    require(course, by, "manage")
    if role not in {R.TA, R.INSTRUCTOR}:
        raise CourseError("Role: staff are instructors or TAs.")
    if role == R.INSTRUCTOR:
        require(course, by, "delete")  # only an instructor makes another instructor
    user = _find_user(login)
    if user is None:
        raise CourseError(f"Username or email: nobody is registered as {login.strip()!r}.")
    member, _ = CourseMember.objects.update_or_create(course=course, user=user,
                                                      defaults={"role": role, "group": None})
    return member


@transaction.atomic
def course_join(*, user, join_code: str) -> CourseMember:
    course = Course.objects.filter(join_code=(join_code or "").strip().upper()).first()
    if course is None:
        raise CourseError("Join code: no course has that code.")
    member, created = CourseMember.objects.get_or_create(course=course, user=user, defaults={"role": R.STUDENT})
    if created:
        logins = [user.username.lower()] + ([user.email.lower()] if user.email else [])
        entry = RosterEntry.objects.filter(course=course, login__in=logins).first()
        if entry is not None:
            member.group = entry.group
            member.save(update_fields=["group"])
            entry.delete()
    return member


@transaction.atomic
def roster_import(*, course: Course, by, text: str, create_groups: bool = True) -> dict:
    """Students with an account are enrolled at once; the others wait as
    roster entries and land in their group when they join."""
    require(course, by, "manage")
    rows = roster_mod.parse(text)
    groups = {g.name: g for g in course.groups.all()}
    unknown = [r for r in rows if r.group and r.group not in groups]
    if unknown and not create_groups:
        raise roster_mod.RosterErrors([f"Row {r.line}: no group named {r.group!r} in this course." for r in unknown])
    staff = {m.user.username.lower(): m for m in course.members.exclude(role=R.STUDENT).select_related("user")}
    clash = [r for r in rows if r.login in staff]
    if clash:
        raise roster_mod.RosterErrors([f"Row {r.line}: {r.login} is course staff, not a student." for r in clash])
    for r in unknown:
        if r.group not in groups:
            groups[r.group] = Group.objects.create(course=course, name=r.group)
    enrolled = pending = 0
    for r in rows:
        group = groups.get(r.group) if r.group else None
        user = _find_user(r.login)
        if user is not None:
            CourseMember.objects.update_or_create(course=course, user=user,
                                                  defaults={"role": R.STUDENT, "group": group})
            enrolled += 1
        else:
            RosterEntry.objects.update_or_create(course=course, login=r.login, defaults={"name": r.name, "group": group})
            pending += 1
    return {"enrolled": enrolled, "pending": pending, "groups": len(groups)}


# --- groups -------------------------------------------------------------------------

def group_create(*, course: Course, by, name: str) -> Group:
    require(course, by, "manage")
    name = (name or "").strip()
    if not name or len(name) > 80 or "\x00" in name:
        raise CourseError("Group name: from 1 to 80 characters.")
    try:
        with transaction.atomic():
            return Group.objects.create(course=course, name=name)
    except IntegrityError:
        raise CourseError(f"Group name: {name!r} exists already.") from None


@transaction.atomic
def member_set_group(*, course: Course, by, member_id: int, group_id: int | None) -> CourseMember:
    require(course, by, "manage")
    member = CourseMember.objects.filter(course=course, pk=member_id, role=R.STUDENT).first()
    if member is None:
        raise CourseError("Student: not a student of this course.")
    group = None
    if group_id:
        group = Group.objects.filter(course=course, pk=group_id).first()
        if group is None:
            raise CourseError("Group: no such group in this course.")
    member.group = group
    member.save(update_fields=["group"])
    return member


@transaction.atomic
def groups_random(*, course: Course, by, size: int, seed: int | None = None) -> list[Group]:
    """Every student into groups of `size` (the last may be smaller), replacing
    the current grouping; groups left empty are removed."""
    require(course, by, "manage")
    if not isinstance(size, int) or not 1 <= size <= 50:
        raise CourseError("Group size: from 1 to 50.")
    students = list(course.members.filter(role=R.STUDENT).order_by("id"))
    if not students:
        raise CourseError("Group size: the course has no students yet.")
    random.Random(seed).shuffle(students)
    count = -(-len(students) // size)
    existing = {g.name: g for g in course.groups.all()}
    groups = [existing.get(f"Group {i + 1}") or Group.objects.create(course=course, name=f"Group {i + 1}")
              for i in range(count)]
    for i, student in enumerate(students):
        student.group = groups[i // size]
        student.save(update_fields=["group"])
    course.groups.exclude(pk__in=[g.pk for g in groups]).filter(members__isnull=True,
                                                                group_sessions__isnull=True).delete()
    return groups


@transaction.atomic
def session_share(*, course: Course, by, session: Session) -> CourseShare:
    """Show a session to the whole course ("Shared with a course")."""
    require(course, by, "manage")
    session_services.session_set_visibility(session=session, by=by, visibility=Session.Visibility.COURSE)
    share, _ = CourseShare.objects.get_or_create(course=course, session=session, defaults={"shared_by": by})
    return share


# --- assignments -----------------------------------------------------------------

@transaction.atomic
def assignment_save(*, course: Course, by, data: dict, assignment: Assignment | None = None) -> Assignment:
    """`data` is the assignment form's cleaned data (checked there, field by field)."""
    require(course, by, "manage")
    assignment = assignment or Assignment(course=course)
    for field, value in data.items():
        setattr(assignment, field, value)
    assignment.save()
    return assignment


def _assignment_team(assignment: Assignment, owner) -> Team:
    """The team the groups' sessions start from. Sessions freeze a snapshot of
    it, so later edits never change them; only a model profile chosen for the
    assignment needs a copy of its own, with that profile on every role."""
    if assignment.preset:
        team = (Team.objects.filter(owner=owner, preset=assignment.preset).first()
                or team_create_from_preset(preset_key=assignment.preset, owner=owner))
    else:
        team = assignment.team
    if not assignment.model_profile_id:
        return team
    copy = Team.objects.create(owner=owner, name=_free_team_name(owner, f"{assignment.title}: {team.name}"),
                               description=team.description, preset=team.preset)
    fields = ["name", "persona", "goals", "expertise", "traits", "strength", "color", "avatar", "temperature"]
    Role.objects.bulk_create(Role(team=copy, order=i, model_profile=assignment.model_profile,
                                  **{f: getattr(r, f) for f in fields})
                             for i, r in enumerate(team.roles.order_by("order", "id")))
    return copy


def _free_team_name(owner, base: str) -> str:
    base = base[:180]
    name, n = base, 2
    while Team.objects.filter(owner=owner, name=name).exists():
        name, n = f"{base} ({n})", n + 1
    return name


def _session_for_group(assignment: Assignment, group: Group, team: Team, owner) -> GroupSession:
    params = dict(assignment.protocol_params or {})
    if assignment.protocol == "scenario" and params.get("scenario") == "design_review":
        params["params"] = {**(params.get("params") or {}), "rubric": scenario_rubric(assignment.rubric)}
    session = session_services.session_create(
        owner=owner, team=team, title=f"{assignment.title}: {group.name}", brief=assignment.brief,
        protocol=assignment.protocol, protocol_params=params, topology=assignment.topology,
        provider="openai" if assignment.model_profile_id else None, max_turns=assignment.max_turns,
        token_budget=assignment.token_budget, cost_budget=assignment.cost_budget, seed=group.pk,
        seat_timeout=assignment.seat_timeout)
    link = GroupSession.objects.create(assignment=assignment, group=group, session=session)
    students = list(group.members.filter(role=R.STUDENT).select_related("user").order_by("user__username"))
    # Students hold the student roles in username order; roles nobody holds stay with their agents.
    for role, member in zip(assignment.student_roles, students, strict=False):
        session_services.seat_take(session=session, user=member.user, role=role,
                                   timeout_seconds=assignment.seat_timeout)
    return link


def scenario_rubric(rubric: list[dict]) -> list[dict]:
    """The design-review scenario's rubric (labels only), from the assignment's."""
    return [{"name": c["name"], "description": c.get("description", ""),
             "levels": [lv["label"] for lv in c["levels"]]} for c in rubric]


@transaction.atomic
def assignment_publish(*, assignment: Assignment, by) -> list[GroupSession]:
    """One session per group with students; started at once if the assignment is open."""
    require(assignment.course, by, "manage")
    if assignment.published_at:
        raise CourseError("The assignment is published already.")
    groups = [g for g in assignment.course.groups.all() if g.members.filter(role=R.STUDENT).exists()]
    if not groups:
        raise CourseError("Groups: form student groups before publishing.")
    team = _assignment_team(assignment, by)
    missing = [r for r in assignment.student_roles if not team.roles.filter(name=r).exists()]
    if missing:
        raise CourseError(f"Student roles: the team has no role {', '.join(missing)}.")
    try:
        links = [_session_for_group(assignment, g, team, by) for g in groups]
    except (ValueError, Refused) as exc:
        raise CourseError(f"Publishing failed: {exc}") from None
    assignment.published_at = timezone.now()
    assignment.save(update_fields=["published_at"])
    if assignment.opens_at <= timezone.now():
        for link in links:
            session_services.session_start(session=link.session, user=by)
    return links


def open_due_sessions(*, assignment: Assignment) -> int:
    """Start the draft sessions of an assignment whose opening time has come.
    Called when its pages are opened (idempotent), so no scheduler is needed."""
    if not assignment.published_at or assignment.opens_at > timezone.now():
        return 0
    started = 0
    for link in assignment.group_sessions.filter(current=True, session__status=Session.Status.DRAFT).select_related(
            "session"):
        session_services.session_start(session=link.session, user=link.session.owner)
        started += 1
    return started


def _link(assignment: Assignment, by, link_id: int) -> GroupSession:
    require(assignment.course, by, "manage")
    link = GroupSession.objects.filter(assignment=assignment, pk=link_id).select_related("session", "group").first()
    if link is None:
        raise CourseError("No such group session in this assignment.")
    return link


@transaction.atomic
def group_session_restart(*, assignment: Assignment, by, link_id: int) -> GroupSession:
    """A fresh session for the group; the old one is stopped and kept as history."""
    link = _link(assignment, by, link_id)
    if not link.session.is_over:
        session_services.session_stop(session=link.session, user=by)
    link.current = False
    link.save(update_fields=["current"])
    team = link.session.team or _assignment_team(assignment, by)
    fresh = _session_for_group(assignment, link.group, team, by)
    session_services.session_start(session=fresh.session, user=by)
    return fresh


@transaction.atomic
def group_session_reopen(*, assignment: Assignment, by, link_id: int, hours: int = 24) -> GroupSession:
    link = _link(assignment, by, link_id)
    if not 1 <= hours <= 24 * 30:
        raise CourseError("Hours: from 1 to 720.")
    link.reopened_until = timezone.now() + timezone.timedelta(hours=hours)
    link.save(update_fields=["reopened_until"])
    if link.session.status == Session.Status.PAUSED:
        session_services.session_resume(session=link.session, user=by)
    return link


def group_pause(*, assignment: Assignment, by, link_id: int) -> None:
    link = _link(assignment, by, link_id)
    session_services.session_pause(session=link.session, user=by)


def hint(*, assignment: Assignment, by, text: str, link_id: int | None = None) -> int:
    """A hint to one group's session, or to every live one; returns how many got it."""
    require(assignment.course, by, "manage")
    text = (text or "").strip()
    if not text:
        raise CourseError("Hint: the text is empty.")
    links = assignment.group_sessions.filter(current=True).select_related("session")
    if link_id is not None:
        links = links.filter(pk=link_id)
        if not links:
            raise CourseError("No such group session in this assignment.")
    sent = 0
    for link in links:
        if link.session.is_over and link_id is None:
            continue
        session_services.session_inject(session=link.session, user=by, text=f"Hint from {by.username}: {text}")
        sent += 1
    if not sent:
        raise CourseError("No live group session to hint.")
    return sent


def help_raise(*, link: GroupSession, by, note: str = "") -> GroupSession:
    member = require(link.assignment.course, by, "view")
    if member.role == R.STUDENT and member.group_id != link.group_id:
        raise Forbidden("Only the group's students can ask for help here.")
    note = (note or "").replace("\x00", "").strip()[:300]
    link.help_requested_at, link.help_note = timezone.now(), note
    link.save(update_fields=["help_requested_at", "help_note"])
    wall_bus.publish_help(link)
    return link


def help_clear(*, link: GroupSession, by) -> GroupSession:
    require(link.assignment.course, by, "manage")
    link.help_requested_at, link.help_note = None, ""
    link.save(update_fields=["help_requested_at", "help_note"])
    wall_bus.publish_help(link)
    return link


# --- grades ------------------------------------------------------------------------

@transaction.atomic
def grade_save(*, link: GroupSession, by, levels: dict[str, str], comments: dict[str, str],
               comment: str = "") -> Grade:
    """Every criterion needs a level; comments are optional. Checked whole before saving."""
    require(link.assignment.course, by, "manage")
    rubric = link.assignment.rubric
    errors, scores = [], {}
    for criterion in rubric:
        name = criterion["name"]
        raw = (levels.get(name) or "").strip()
        if not raw.isdigit() or not 0 <= int(raw) < len(criterion["levels"]):
            errors.append(f"{name}: choose a level.")
            continue
        level = criterion["levels"][int(raw)]
        note = (comments.get(name) or "").replace("\x00", "").strip()
        if len(note) > 4000:
            errors.append(f"{name}: the comment is longer than 4,000 characters.")
            continue
        scores[name] = {"level": int(raw), "label": level["label"], "points": level["points"], "comment": note}
    comment = (comment or "").replace("\x00", "").strip()
    if len(comment) > 8000:
        errors.append("Overall comment: longer than 8,000 characters.")
    if errors:
        raise CourseError(errors)
    total = sum(Decimal(str(s["points"])) for s in scores.values())
    grade, _ = Grade.objects.update_or_create(group_session=link, defaults={
        "scores": scores, "comment": comment, "total": total, "grader": by})
    return grade


def feedback_release(*, assignment: Assignment, by, release: bool = True) -> Assignment:
    require(assignment.course, by, "manage")
    assignment.feedback_released_at = timezone.now() if release else None
    assignment.save(update_fields=["feedback_released_at"])
    return assignment


def seat_holders(link: GroupSession) -> dict[str, str]:
    return dict(Seat.objects.filter(session=link.session, holder=Seat.Holder.HUMAN)
                .values_list("role_name", "user__username"))
