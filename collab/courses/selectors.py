"""Reads on courses: what a member sees, wall tiles, grades and agreement."""

from django.db.models import Prefetch, Q
from django.utils import timezone

from collab.courses.models import Assignment, Course, CourseMember, Grade, GroupSession
from collab.courses.permissions import R
from collab.sessions import selectors as session_selectors
from collab.sessions.models import Event, Session


def courses_of(user) -> list[CourseMember]:
    return list(CourseMember.objects.filter(user=user).select_related("course", "group")
                .order_by("-course__created_at"))


def roster(course: Course) -> list[CourseMember]:
    return list(course.members.select_related("user", "group").order_by("role", "group__name", "user__username"))


def group_sessions(assignment: Assignment, member: CourseMember | None = None) -> list[GroupSession]:
    """The current session of each group; a student gets only their own group's."""
    links = (assignment.group_sessions.filter(current=True).select_related("session", "group")
             .prefetch_related(Prefetch("group__members", queryset=CourseMember.objects.select_related("user"))))
    if member is not None and member.role == R.STUDENT:
        links = links.filter(group_id=member.group_id) if member.group_id else links.none()
    return list(links)


def latest_score(session: Session) -> float | None:
    """The scenario's latest rubric total (0..1), if any scorer has scored."""
    state = (session.state or {}).get("protocol", {})
    scores = state.get("scores") if isinstance(state, dict) else None
    rubric = (state.get("params") or {}).get("rubric") if isinstance(state, dict) else None
    if not scores or not rubric:
        return None
    top = sum(len(c["levels"]) - 1 for c in rubric) or 1
    latest = list(scores.values())[-1]
    return round(sum(latest.values()) / top, 2)


def is_late(link: GroupSession) -> bool:
    """Students worked after the due time (spoke from their seat, or took one): possible once staff reopen."""
    usernames = [m.user.username for m in link.group.members.all() if m.role == R.STUDENT]
    return Event.objects.filter(
        Q(actor__in=[f"user:{u}" for u in usernames], payload__action="seat_taken") | Q(payload__human__in=usernames),
        session_id=link.session_id, created_at__gt=link.assignment.due_at).exists()


def tile(link: GroupSession) -> dict:
    s = link.session
    stats = session_selectors.stats(s)
    awaiting = (s.state or {}).get("awaiting") or {}
    return {
        "link_id": link.pk, "session_id": s.pk, "group": link.group.name, "title": s.title,
        "status": stats["status"], "status_label": Session.Status(stats["status"]).label,
        "turn": stats["turn"], "max_turns": stats["max_turns"], "tokens": stats["tokens"], "cost": stats["cost"],
        "token_budget": s.token_budget, "cost_budget": float(s.cost_budget) if s.cost_budget is not None else None,
        "awaiting": awaiting.get("roles", []) if s.status == Session.Status.AWAITING_HUMAN else [],
        "speaking": [], "speech": "", "score": latest_score(s),
        "help": bool(link.help_requested_at), "help_note": link.help_note,
        "students": [m.user.username for m in link.group.members.all() if m.role == R.STUDENT],
    }


def judge_levels(link: GroupSession) -> dict[str, int]:
    """The judge role's rubric levels for the group's proposal, if the model judged."""
    state = (link.session.state or {}).get("protocol", {}) or {}
    judge = state.get("judge") if isinstance(state, dict) else None
    return dict((state.get("scores") or {}).get(judge) or {}) if judge else {}


def grading_rows(assignment: Assignment) -> list[dict]:
    rows = []
    for link in group_sessions(assignment):
        grade = Grade.objects.filter(group_session=link).first()
        rows.append({"link": link, "grade": grade, "judge": judge_levels(link)})
    return rows


def agreement(assignment: Assignment) -> dict:
    """Instructor vs model judge over every (group, criterion) both scored:
    Krippendorff's alpha (ordinal levels) and the share of exact matches."""
    pairs = []
    for row in grading_rows(assignment):
        if not row["grade"]:
            continue
        for name, score in row["grade"].scores.items():
            if name in row["judge"]:
                pairs.append((score["level"], row["judge"][name]))
    result = {"pairs": len(pairs), "alpha": None, "exact": None}
    if pairs:
        result["exact"] = round(sum(a == b for a, b in pairs) / len(pairs), 2)
    values = {v for pair in pairs for v in pair}
    if len(pairs) >= 2 and len(values) > 1:
        import krippendorff  # heavy (numpy): imported on use, so loading the URL conf stays quick

        data = [[a for a, _ in pairs], [b for _, b in pairs]]
        result["alpha"] = round(float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")), 3)
    return result


def student_rows(assignment: Assignment) -> list[dict]:
    """One row per student of the course: their group's current grade (if any)."""
    grades = {g.group_session.group_id: g for g in Grade.objects.filter(
        group_session__assignment=assignment, group_session__current=True).select_related("group_session")}
    rows = []
    for member in assignment.course.members.filter(role=R.STUDENT).select_related("user", "group").order_by(
            "user__last_name", "user__username"):
        rows.append({"member": member, "grade": grades.get(member.group_id)})
    return rows


def is_open(assignment: Assignment) -> bool:
    return assignment.opens_at <= timezone.now() <= assignment.due_at
