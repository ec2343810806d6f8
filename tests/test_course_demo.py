"""`make run`'s demo data includes a course: the demo account teaches it, two
students are in a group, and a design assignment is published to them."""

import pytest
from django.core.management import call_command
from django.test import Client

from collab.courses.models import Course, GroupSession
from collab.sessions.models import Seat
from tests.course_helpers import fast_passwords  # noqa: F401 (autouse fixture)


@pytest.mark.django_db
def test_demo_course_loads_once_and_students_log_in():
    call_command("load_demo")
    call_command("load_demo")
    course = Course.objects.get()
    assert sorted(course.members.values_list("user__username", "role")) == [
        ("demo", "instructor"), ("student1", "student"), ("student2", "student")]
    link = GroupSession.objects.get()
    assert link.assignment.published_at is not None and link.session.status == "running"
    assert sorted(Seat.objects.filter(session=link.session, holder="human").values_list("user__username", flat=True)) \
        == ["student1", "student2"]
    student = Client()
    assert student.post("/accounts/login/", {"username": "student1", "password": "collab-demo"}).status_code == 302
    page = student.get(f"/courses/assignments/{link.assignment_id}/").content.decode()
    assert "bike shelter" in page and "Team Shelter" in page
    instructor = Client()
    instructor.post("/accounts/login/", {"username": "demo", "password": "collab-demo"})
    assert instructor.get(f"/courses/assignments/{link.assignment_id}/wall/").status_code == 200
