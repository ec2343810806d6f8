"""The courses app's rows of the authorization matrix.

A course maps the world's people onto its roles: the owner is its instructor,
the annotator its TA (course staff who grade, but may not delete the course),
the participant a student of group Alpha and the observer a student of group
Beta. The unrelated user and Django staff are not in the course: to them it
does not exist (404). The assignment is published before it opens, so each
group has its (draft) session. Outcomes follow collab/courses/permissions.py
and tests/test_course_permissions.py."""

import re

from django.utils import timezone

from collab.courses import services
from collab.courses.forms import default_rubric
from collab.courses.models import CourseMember, GroupSession
from collab.teams.models import ModelProfile
from tests.authz import Case, SocketCase, World, expect, signed_in
from tests.course_helpers import assignment_post

# Everybody in the course sees it; staff (instructor, TA) manage it; students get a 403 with the reason.
MEMBERS = expect("ok", anonymous="login", unrelated="hidden", staff="hidden")
COURSE_STAFF = expect("forbidden", anonymous="login", unrelated="hidden", staff="hidden", owner="ok", annotator="ok")


def course(w: World, publish: bool = True) -> None:
    instructor = w.users["owner"]
    c = services.course_create(by=instructor, title="ENGR 490 Senior Design", code="ENGR 490")
    services.staff_add(course=c, by=instructor, login="annotator")
    groups = {}
    for actor, name in (("participant", "Alpha"), ("observer", "Beta")):
        groups[actor] = services.group_create(course=c, by=instructor, name=name)
        services.course_join(user=w.users[actor], join_code=c.join_code)
        member = CourseMember.objects.get(course=c, user=w.users[actor])
        services.member_set_group(course=c, by=instructor, member_id=member.pk, group_id=groups[actor].pk)
    now = timezone.now()
    assignment = services.assignment_save(course=c, by=instructor, data={
        "title": "Bike shelter proposal", "brief": "Design a covered bike shelter.", "preset": "senior_design_panel",
        "team": None, "student_roles": ["Project Manager"], "protocol": "scenario",
        "protocol_params": {"scenario": "design_review", "params": {"judge_role": "Faculty Judge"}},
        "topology": "everyone", "rubric": default_rubric(), "model_profile": None, "token_budget": 50000,
        "cost_budget": None, "max_turns": 60, "seat_timeout": 30,
        "opens_at": now + timezone.timedelta(hours=2), "due_at": now + timezone.timedelta(hours=48)})
    w.extra.update(course=c, assignment=assignment, beta=groups["observer"])
    if publish:
        services.assignment_publish(assignment=assignment, by=instructor)
        w.extra["link"] = GroupSession.objects.get(group=groups["participant"])


def unpublished_course(w: World) -> None:
    course(w, publish=False)


def unrelated_has_a_profile(w: World) -> None:
    course(w)
    w.extra["profile"] = ModelProfile.objects.create(
        owner=w.users["unrelated"], name="Unrelated's private model", provider="openai",
        base_url="http://127.0.0.1:9/v1", model="theirs")


def _c(w: World) -> dict:
    return {"pk": w.extra["course"].pk}


def _a(w: World) -> dict:
    return {"pk": w.extra["assignment"].pk}


def _link(action: str | None = None):
    def kwargs(w: World) -> dict:
        found = {"pk": w.extra["assignment"].pk, "link_id": w.extra["link"].pk}
        return {**found, "action": action} if action else found
    return kwargs


def _move_participant(w: World) -> dict:
    member = CourseMember.objects.get(course=w.extra["course"], user=w.users["participant"])
    return {"pk": w.extra["course"].pk, "member_id": member.pk}


def _code(w: World) -> dict:
    return {"code": w.extra["course"].join_code}


ROWS: dict[str, list[Case]] = {
    "course_list": [Case(signed_in()),
                    Case(signed_in(), "POST", data=lambda w: {"title": "A course of my own"}, label="create")],
    # The join code is the way in: anyone signed in who has it joins as a student.
    "course_join": [Case(signed_in()),
                    Case(signed_in(), "POST", data=lambda w: {"join_code": w.extra["course"].join_code},
                         prepare=course, label="join")],
    "course_join_link": [Case(signed_in(), kwargs=_code, prepare=course)],
    "course_detail": [Case(MEMBERS, kwargs=_c, prepare=course)],
    "course_roster": [Case(COURSE_STAFF, "POST", kwargs=_c, prepare=course,
                           data=lambda w: {"csv_text": "Zed Zulu,zed,Alpha"})],
    "course_staff": [Case(COURSE_STAFF, "POST", kwargs=_c, prepare=course,
                          data=lambda w: {"login": "unrelated", "role": "ta"})],
    "course_group_create": [Case(COURSE_STAFF, "POST", kwargs=_c, prepare=course, data=lambda w: {"name": "Gamma"})],
    "course_groups_random": [Case(COURSE_STAFF, "POST", kwargs=_c, prepare=course, data=lambda w: {"size": "2"})],
    "course_member_group": [Case(COURSE_STAFF, "POST", kwargs=_move_participant, prepare=course,
                                 data=lambda w: {"group": w.extra["beta"].pk})],
    # A session is shared by its owner: the TA manages the course but does not own the instructor's session.
    "course_share": [Case({**COURSE_STAFF, "annotator": "refused: Only the session's owner"}, "POST", kwargs=_c,
                          prepare=course, data=lambda w: {"session": w.session.pk})],
    # Only an instructor deletes a course; the TA gets the reason.
    "course_delete": [Case(expect("forbidden", anonymous="login", unrelated="hidden", staff="hidden", owner="ok"),
                           "POST", kwargs=_c, prepare=course)],
    "assignment_new": [Case(COURSE_STAFF, kwargs=_c, prepare=course),
                       Case(COURSE_STAFF, "POST", kwargs=_c, prepare=course, data=lambda w: assignment_post(),
                            label="save"),
                       # Model profiles belong to their owner: an instructor cannot spend another user's private one.
                       Case({**COURSE_STAFF, "owner": "status 400", "annotator": "status 400"}, "POST", kwargs=_c,
                            prepare=unrelated_has_a_profile, label="another user's private profile",
                            data=lambda w: assignment_post(model_profile=str(w.extra["profile"].pk)))],
    "assignment_detail": [Case(MEMBERS, kwargs=_a, prepare=course)],
    "assignment_edit": [Case(COURSE_STAFF, kwargs=_a, prepare=course)],
    "assignment_publish": [Case(COURSE_STAFF, "POST", kwargs=_a, prepare=unpublished_course)],
    "assignment_wall": [Case(COURSE_STAFF, kwargs=_a, prepare=course)],
    "assignment_broadcast": [Case(COURSE_STAFF, "POST", kwargs=_a, prepare=course,
                                  data=lambda w: {"text": "Read the brief twice."})],
    "grades": [Case(COURSE_STAFF, kwargs=_a, prepare=course)],
    "grades_csv": [Case(COURSE_STAFF, kwargs=_a, prepare=course)],
    "criteria_csv": [Case(COURSE_STAFF, kwargs=_a, prepare=course)],
    "feedback_release": [Case(COURSE_STAFF, "POST", kwargs=_a, prepare=course, data=lambda w: {"release": "1"})],
    "grade_form": [Case(COURSE_STAFF, kwargs=_link(), prepare=course)],
    # A group's own student raises a help flag; a student of another group does not see the group at all.
    "group_action": [
        Case(expect("ok", anonymous="login", unrelated="hidden", staff="hidden", observer="hidden"), "POST",
             kwargs=_link("help"), prepare=course, data=lambda w: {"note": "We are stuck on the load."}, label="help"),
        Case(expect("forbidden", anonymous="login", unrelated="hidden", staff="hidden", observer="hidden",
                    owner="ok", annotator="ok"), "POST", kwargs=_link("hint"), prepare=course,
             data=lambda w: {"text": "Check the snow load."}, label="hint"),
        Case(expect("forbidden", anonymous="login", unrelated="hidden", staff="hidden", observer="hidden",
                    owner="ok", annotator="ok"), "POST", kwargs=_link("restart"), prepare=course, label="restart"),
        Case(expect("hidden", anonymous="login"), "POST", kwargs=_link("no-such-action"), prepare=course,
             label="unknown action"),
    ],
}


# --- the instructor's wall socket ------------------------------------------------------

WALL_STAFF = expect("closed", owner="ok", annotator="ok")


def wall_answer(frames: list[str]) -> str:
    """The wall answers an action with a flash: an error names the refusal."""
    for frame in frames:
        found = re.search(r'class="flash (flash-error|flash-success)"[^>]*>(.*?)</p>', frame, re.S)
        if found:
            return f"refused: {found.group(2)}" if found.group(1) == "flash-error" else "ok"
    return "no answer"


def _wall(w: World) -> str:
    return f"/ws/courses/assignments/{w.extra['assignment'].pk}/wall/"


def ta_leaves_the_course(w: World) -> None:
    CourseMember.objects.filter(course=w.extra["course"], user=w.users["annotator"]).delete()


SOCKETS: dict[str, list[SocketCase]] = {
    "ws/courses/assignments/<int:assignment_id>/wall/": [
        SocketCase(WALL_STAFF, _wall, wall_answer, prepare=course, label="connect"),
        SocketCase(WALL_STAFF, _wall, wall_answer, prepare=course, label="broadcast",
                   frame=lambda w: {"action": "broadcast", "text": "Read the brief twice."}),
        SocketCase(WALL_STAFF, _wall, wall_answer, prepare=course, label="hint a group",
                   frame=lambda w: {"action": "hint", "link": w.extra["link"].pk, "text": "Check the snow load."}),
        # Access is checked again on every action: a TA removed while the wall is open is refused.
        SocketCase({**WALL_STAFF, "annotator": "refused: You no longer teach this course"}, _wall, wall_answer,
                   prepare=course, after_connect=ta_leaves_the_course, label="TA removed, then broadcast",
                   frame=lambda w: {"action": "broadcast", "text": "Still here?"}),
    ],
}
