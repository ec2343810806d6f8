"""Demo data for a teaching lab: the demo account teaches a course with two
students in one group and a published design-project assignment, so a
newcomer can walk the whole loop (wall, seats, grading) from the README."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from collab.courses import services
from collab.courses.forms import default_rubric
from collab.courses.models import Course, CourseMember

COURSE_TITLE = "Demo course: ENGR 490 Senior Design"
STUDENTS = [("student1", "Ada", "Lovelace"), ("student2", "Grace", "Hopper")]
STUDENT_PASSWORD = "collab-demo"
BRIEF = """Design a **covered bike shelter** for 40 bicycles beside the campus library.

- Budget: 15,000 USD, built over one summer.
- It must be lit at night, drain rainwater, and leave a wheelchair path clear.
- Deliver: requirements, a concept with its main risks, and a project plan."""


@transaction.atomic
def load(instructor: User) -> Course:
    course = Course.objects.filter(title=COURSE_TITLE, created_by=instructor).first()
    if course is not None:
        return course
    course = services.course_create(by=instructor, title=COURSE_TITLE, code="ENGR 490")
    group = services.group_create(course=course, by=instructor, name="Team Shelter")
    for username, first, last in STUDENTS:
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        if created:
            user.set_password(STUDENT_PASSWORD)
            user.save()
        CourseMember.objects.update_or_create(course=course, user=user, defaults={"role": "student", "group": group})
    now = timezone.now()
    assignment = services.assignment_save(course=course, by=instructor, data={
        "title": "Bike shelter proposal", "brief": BRIEF, "preset": "senior_design_panel", "team": None,
        "student_roles": ["Problem Formulation", "Societal & Ethical"], "protocol": "scenario",
        "protocol_params": {"scenario": "design_review", "params": {"judge_role": "Faculty Judge"}},
        "topology": "everyone", "rubric": default_rubric(), "model_profile": None, "token_budget": 60000,
        "cost_budget": None, "max_turns": 60, "seat_timeout": 120, "opens_at": now,
        "due_at": now + timezone.timedelta(days=14)})
    services.assignment_publish(assignment=assignment, by=instructor)
    return course
