"""A small class for course tests: an instructor, a TA, two students in two
groups, an outsider, and a design-review assignment."""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from collab.courses import services
from collab.courses.forms import default_rubric
from collab.courses.models import Assignment, Course, CourseMember, Group

BRIEF = "Design a covered **bike shelter** for 40 bikes at the campus library."


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Six accounts per test: a cheap hasher keeps the matrix quick (imported by the course tests)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Klass:
    instructor: User
    ta: User
    student_a: User
    student_b: User
    outsider: User
    course: Course
    group_a: Group
    group_b: Group
    assignment: Assignment


def make_class(*, opens_in_hours: float = -1, due_in_hours: float = 48, student_roles=("Project Manager",),
               **assignment_fields) -> Klass:
    users = {name: User.objects.create_user(name, password=f"{name}-pass-123", first_name=name.title())
             for name in ("instructor", "ta", "student_a", "student_b", "outsider")}
    course = services.course_create(by=users["instructor"], title="ENGR 490 Senior Design", code="ENGR 490")
    services.staff_add(course=course, by=users["instructor"], login="ta")
    group_a = services.group_create(course=course, by=users["instructor"], name="Alpha")
    group_b = services.group_create(course=course, by=users["instructor"], name="Beta")
    for user, group in ((users["student_a"], group_a), (users["student_b"], group_b)):
        services.course_join(user=user, join_code=course.join_code)
        member = CourseMember.objects.get(course=course, user=user)
        services.member_set_group(course=course, by=users["instructor"], member_id=member.pk, group_id=group.pk)
    now = timezone.now()
    data = {"title": "Bike shelter proposal", "brief": BRIEF, "preset": "senior_design_panel", "team": None,
            "student_roles": list(student_roles), "protocol": "scenario",
            "protocol_params": {"scenario": "design_review", "params": {"judge_role": "Faculty Judge"}},
            "topology": "everyone", "rubric": default_rubric(), "model_profile": None, "token_budget": 50000,
            "cost_budget": None, "max_turns": 60, "seat_timeout": 30,
            "opens_at": now + timezone.timedelta(hours=opens_in_hours),
            "due_at": now + timezone.timedelta(hours=due_in_hours), **assignment_fields}
    assignment = services.assignment_save(course=course, by=users["instructor"], data=data)
    return Klass(**users, course=course, group_a=group_a, group_b=group_b, assignment=assignment)


def assignment_post(**overrides) -> dict:
    now = timezone.localtime()
    data = {"title": "Bike shelter proposal", "brief": BRIEF, "preset": "senior_design_panel", "team": "",
            "student_roles": "Project Manager, Problem Formulation", "protocol": "",
            "rubric": json.dumps(default_rubric()), "model_profile": "", "token_budget": "50000", "cost_budget": "",
            "max_turns": "60", "seat_timeout": "30",
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "due_at": (now + timezone.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")}
    data.update(overrides)
    return data
