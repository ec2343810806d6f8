"""Courses and rosters: create, staff, join by code and link (signing up on
the way), roster CSV, groups by hand, from the CSV and at random; bad input
names its row and writes nothing."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from collab.courses.models import Course, CourseMember, Group, RosterEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def instructor():
    return User.objects.create_user("prof", password="prof-pass-123")


@pytest.fixture
def course(client, instructor):
    client.force_login(instructor)
    response = client.post("/courses/", {"title": "ENGR 490 Senior Design", "code": "ENGR 490"})
    course = Course.objects.get()
    assert response["Location"] == f"/courses/{course.pk}/"
    assert CourseMember.objects.get(course=course).role == "instructor"
    return course


def test_course_page_shows_join_link_and_code(client, course):
    html = client.get(f"/courses/{course.pk}/").content.decode()
    assert f"/courses/join/{course.join_code}/" in html
    assert course.join_code in html


def test_empty_title_is_refused(client, instructor):
    client.force_login(instructor)
    response = client.post("/courses/", {"title": "  "})
    assert response.status_code == 200 and b"errorlist" in response.content
    assert not Course.objects.exists()


def test_student_signs_up_through_the_join_link_and_lands_in_the_course(client, course):
    client.logout()
    link = f"/courses/join/{course.join_code}/"
    to_login = client.get(link)
    assert to_login.status_code == 302 and "next=" in to_login["Location"]
    response = client.post("/accounts/signup/", {"username": "newstudent", "password1": "a-long-pass-phrase",
                                                 "password2": "a-long-pass-phrase", "next": link})
    assert response["Location"] == link
    page = client.get(link)
    assert course.title in page.content.decode()
    joined = client.post("/courses/join/", {"join_code": course.join_code})
    assert joined["Location"] == f"/courses/{course.pk}/"
    member = CourseMember.objects.get(course=course, user__username="newstudent")
    assert member.role == "student"
    assert "ENGR 490" in client.get("/courses/").content.decode()


def test_wrong_join_code(client, course):
    client.force_login(User.objects.create_user("s", password="s-pass-123"))
    response = client.post("/courses/join/", {"join_code": "NOPE1234"})
    assert b"no course has that code" in response.content
    assert not CourseMember.objects.filter(user__username="s").exists()


def test_roster_csv_enrolls_existing_students_and_holds_the_rest(client, course):
    User.objects.create_user("ann", password="x-pass-123456")
    User.objects.create_user("bob", email="bob@uni.edu", password="x-pass-123456")
    csv_text = "name,email or username,group\nAnn Lee,ann,Team 1\nBob Ray,BOB@uni.edu,Team 1\nCy Dee,cy@uni.edu,Team 2\n"
    upload = SimpleUploadedFile("roster.csv", csv_text.encode(), content_type="text/csv")
    response = client.post(f"/courses/{course.pk}/roster/", {"csv_file": upload, "create_groups": "on"})
    assert response.status_code == 302
    assert set(Group.objects.filter(course=course).values_list("name", flat=True)) == {"Team 1", "Team 2"}
    assert CourseMember.objects.get(course=course, user__username="bob").group.name == "Team 1"
    assert RosterEntry.objects.get(course=course).login == "cy@uni.edu"
    # Cy signs up later with that email and lands in Team 2 on joining.
    cy = User.objects.create_user("cy", email="cy@uni.edu", password="x-pass-123456")
    client.force_login(cy)
    client.post("/courses/join/", {"join_code": course.join_code})
    assert CourseMember.objects.get(course=course, user=cy).group.name == "Team 2"
    assert not RosterEntry.objects.exists()
    page = client.get(f"/courses/{course.pk}/").content.decode()
    assert "Team 2" in page and "You are student" in page


@pytest.mark.parametrize("rows, message", [
    ("Ann,ann,A\nAnn again,ann,B\n", "Row 2: ann is already on row 1."),
    ("Ann,ann,A\nBob,bob@,B\n", "Row 2: &#x27;bob@&#x27; is not a valid email address."),
    ("Ann,ann,A\nonly-one-column\n", "Row 2: expected name, email or username, group"),
    ("Ann,ann,A\n,bob,B\n", "Row 2: the name is empty."),
    ("Ann,ann\x00,A\n", "Null characters are not allowed"),
    ("", "upload a file or paste the rows"),
])
def test_bad_roster_names_the_row_and_writes_nothing(client, course, rows, message):
    response = client.post(f"/courses/{course.pk}/roster/", {"csv_text": rows, "create_groups": "on"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Group.objects.exists() and not RosterEntry.objects.exists()
    assert CourseMember.objects.filter(course=course).count() == 1


def test_unknown_group_is_an_error_when_groups_are_not_created(client, course):
    Group.objects.create(course=course, name="Team 1")
    response = client.post(f"/courses/{course.pk}/roster/", {"csv_text": "Ann,ann,Team 1\nBob,bob,Team 9\n"})
    assert response.status_code == 400
    assert "Row 2: no group named &#x27;Team 9&#x27;" in response.content.decode()
    assert not RosterEntry.objects.exists()


def test_a_megabyte_roster_is_refused(client, course):
    rows = "".join(f"Student {i},s{i},G\n" for i in range(60000))
    response = client.post(f"/courses/{course.pk}/roster/", {"csv_text": rows})
    assert response.status_code == 400 and b"larger than 512 KB" in response.content
    assert not RosterEntry.objects.exists()


def test_groups_by_hand_and_at_random(client, course):
    students = [User.objects.create_user(f"s{i}", password="x-pass-123456") for i in range(7)]
    for s in students:
        CourseMember.objects.create(course=course, user=s, role="student")
    assert client.post(f"/courses/{course.pk}/groups/", {"name": "Hand-made"}).status_code == 302
    dup = client.post(f"/courses/{course.pk}/groups/", {"name": "Hand-made"})
    assert dup.status_code == 400 and b"exists already" in dup.content
    group = Group.objects.get(name="Hand-made")
    member = CourseMember.objects.get(user=students[0])
    client.post(f"/courses/{course.pk}/members/{member.pk}/group/", {"group": group.pk})
    member.refresh_from_db()
    assert member.group == group
    client.post(f"/courses/{course.pk}/members/{member.pk}/group/", {"group": ""})  # and back out again
    member.refresh_from_db()
    assert member.group is None

    assert client.post(f"/courses/{course.pk}/groups/random/", {"size": "3"}).status_code == 302
    sizes = sorted(Group.objects.filter(course=course, members__isnull=False).distinct()
                   .values_list("name", flat=True))
    assert sizes == ["Group 1", "Group 2", "Group 3"]
    counts = sorted(CourseMember.objects.filter(course=course, role="student").values_list("group__name", flat=True))
    assert counts.count("Group 1") == 3 and counts.count("Group 2") == 3 and counts.count("Group 3") == 1
    assert not Group.objects.filter(name="Hand-made").exists(), "an empty group is removed"
    bad = client.post(f"/courses/{course.pk}/groups/random/", {"size": "0"})
    assert bad.status_code == 400


def test_student_sees_their_course_and_group(client, course, instructor):
    student = User.objects.create_user("stu", password="x-pass-123456")
    group = Group.objects.create(course=course, name="Gamma")
    CourseMember.objects.create(course=course, user=student, role="student", group=group)
    client.force_login(student)
    html = client.get(f"/courses/{course.pk}/").content.decode()
    assert 'id="my-group">Gamma' in html
    assert "Upload a roster" not in html
    assert "ENGR 490" in client.get("/courses/").content.decode()


def test_staff_added_by_username(client, course):
    User.objects.create_user("tara", password="x-pass-123456")
    assert client.post(f"/courses/{course.pk}/staff/", {"login": "tara", "role": "ta"}).status_code == 302
    assert CourseMember.objects.get(user__username="tara").role == "ta"
    missing = client.post(f"/courses/{course.pk}/staff/", {"login": "ghost", "role": "ta"})
    assert missing.status_code == 400 and b"nobody is registered" in missing.content
