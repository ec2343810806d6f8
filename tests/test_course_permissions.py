"""The course permission matrix: instructor, TA, student of the group,
student of another group, outsider and anonymous, over every course URL,
the group sessions, and both websockets (the wall and a group's session)."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from collab.asgi import application
from collab.courses.models import Course, GroupSession
from collab.sessions.models import Session
from tests.course_helpers import assignment_post, fast_passwords, make_class  # noqa: F401 (autouse fixture)

WHO = ["instructor", "ta", "student_a", "student_b", "outsider", "anonymous"]
OK, LOGIN, FORBIDDEN, HIDDEN = "ok", "login", 403, 404


def outcome(response) -> str | int:
    if response.status_code in (403, 404):
        return response.status_code
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return LOGIN
    assert response.status_code in (200, 302, 400), response.status_code
    return OK


def staff_only(url: str, method: str = "get", data: dict | None = None):
    return (method, url, data, {"instructor": OK, "ta": OK, "student_a": FORBIDDEN, "student_b": FORBIDDEN,
                                "outsider": HIDDEN, "anonymous": LOGIN})


def members(url: str):
    return ("get", url, None, {"instructor": OK, "ta": OK, "student_a": OK, "student_b": OK, "outsider": HIDDEN,
                               "anonymous": LOGIN})


def cases(k) -> dict[str, tuple]:
    c, a = k.course.pk, k.assignment.pk
    link = GroupSession.objects.get(group=k.group_a)
    m = k.course.members.get(user=k.student_b).pk
    group_a_only = {"instructor": OK, "ta": OK, "student_a": OK, "student_b": HIDDEN, "outsider": HIDDEN,
                    "anonymous": LOGIN}
    return {
        "course_list": ("get", "/courses/", None, {**{w: OK for w in WHO}, "anonymous": LOGIN}),
        "course_join": ("get", "/courses/join/", None, {**{w: OK for w in WHO}, "anonymous": LOGIN}),
        "course_join_link": ("get", f"/courses/join/{k.course.join_code}/", None,
                             {**{w: OK for w in WHO}, "anonymous": LOGIN}),
        "course_detail": members(f"/courses/{c}/"),
        "course_roster": staff_only(f"/courses/{c}/roster/", "post", {"csv_text": "Zed,zed,Alpha"}),
        "course_staff": staff_only(f"/courses/{c}/staff/", "post", {"login": "nobody", "role": "ta"}),
        "course_group_create": staff_only(f"/courses/{c}/groups/", "post", {"name": "Gamma"}),
        "course_groups_random": staff_only(f"/courses/{c}/groups/random/", "post", {"size": "0"}),
        "course_member_group": staff_only(f"/courses/{c}/members/{m}/group/", "post", {"group": k.group_b.pk}),
        "course_share": staff_only(f"/courses/{c}/share/", "post", {"session": "999999"}),
        "course_delete": ("post", f"/courses/{c}/delete/", None, {
            "instructor": OK, "ta": FORBIDDEN, "student_a": FORBIDDEN, "student_b": FORBIDDEN, "outsider": HIDDEN,
            "anonymous": LOGIN}),
        "assignment_new": staff_only(f"/courses/{c}/assignments/new/"),
        "assignment_detail": members(f"/courses/assignments/{a}/"),
        "assignment_edit": staff_only(f"/courses/assignments/{a}/edit/"),
        "assignment_publish": staff_only(f"/courses/assignments/{a}/publish/", "post"),
        "assignment_wall": staff_only(f"/courses/assignments/{a}/wall/"),
        "assignment_broadcast": staff_only(f"/courses/assignments/{a}/broadcast/", "post", {"text": "hi"}),
        "grades": staff_only(f"/courses/assignments/{a}/grades/"),
        "grades_csv": staff_only(f"/courses/assignments/{a}/grades.csv"),
        "criteria_csv": staff_only(f"/courses/assignments/{a}/criteria.csv"),
        "feedback_release": staff_only(f"/courses/assignments/{a}/release/", "post", {"release": "0"}),
        "grade_form": staff_only(f"/courses/assignments/{a}/groups/{link.pk}/grade/"),
        "group_action": ("post", f"/courses/assignments/{a}/groups/{link.pk}/help/", {"note": "stuck"},
                         {**group_a_only}),
        "group_action:hint": ("post", f"/courses/assignments/{a}/groups/{link.pk}/hint/", {"text": "x"}, {
            "instructor": OK, "ta": OK, "student_a": FORBIDDEN, "student_b": HIDDEN, "outsider": HIDDEN,
            "anonymous": LOGIN}),
        "session_detail": ("get", f"/sessions/{link.session_id}/", None, group_a_only),
        "session_transcript": ("get", f"/sessions/{link.session_id}/transcript/", None, group_a_only),
    }


def client_for(k, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(k, who))
    return client


def course_url_names() -> set[str]:
    from collab.courses import urls

    return {p.name for p in urls.urlpatterns}


@pytest.fixture
def klass(db):
    k = make_class(opens_in_hours=2)  # drafts: nothing runs, the matrix is about who may do what
    client_for(k, "instructor").post(f"/courses/assignments/{k.assignment.pk}/publish/")
    return k


def test_every_course_url_is_in_the_matrix(klass):
    covered = {name.split(":")[0] for name in cases(klass)}
    assert course_url_names() <= covered, course_url_names() - covered


@pytest.mark.parametrize("name", [
    "course_list", "course_join", "course_join_link", "course_detail", "course_roster", "course_staff",
    "course_group_create", "course_groups_random", "course_member_group", "course_share", "course_delete",
    "assignment_new", "assignment_detail", "assignment_edit", "assignment_publish", "assignment_wall",
    "assignment_broadcast", "grades", "grades_csv", "criteria_csv", "feedback_release", "grade_form",
    "group_action", "group_action:hint", "session_detail", "session_transcript"])
def test_permission_matrix(klass, name):
    method, url, data, expected = cases(klass)[name]
    got = {}
    # The instructor last: deleting the course or publishing must not hide what the others may do.
    for who in sorted(WHO, key=lambda w: w == "instructor"):
        response = getattr(client_for(klass, who), method)(url, data or {})
        got[who] = outcome(response)
    assert got == expected


def test_student_page_hides_staff_controls(klass):
    html = client_for(klass, "student_a").get(f"/courses/assignments/{klass.assignment.pk}/").content.decode()
    assert "Publish" not in html and "Restart" not in html and "Grade" not in html
    assert "Raise help flag" in html


def test_shared_with_a_course_lets_members_watch(klass):
    from collab.sessions import services
    from tests.engine_helpers import make_team

    own = services.session_create(owner=klass.instructor, team=make_team(klass.instructor, "Demo team"),
                                  title="Worked example")
    student = client_for(klass, "student_b")
    assert student.get(f"/sessions/{own.pk}/").status_code == 404
    client_for(klass, "ta").post(f"/courses/{klass.course.pk}/share/", {"session": own.pk})
    assert client_for(klass, "ta").get(f"/courses/{klass.course.pk}/").status_code == 200
    assert own.course_shares.count() == 0, "a TA cannot share the instructor's own session"
    client_for(klass, "instructor").post(f"/courses/{klass.course.pk}/share/", {"session": own.pk})
    own.refresh_from_db()
    assert own.visibility == Session.Visibility.COURSE
    assert student.get(f"/sessions/{own.pk}/").status_code == 200
    assert client_for(klass, "outsider").get(f"/sessions/{own.pk}/").status_code == 404
    # Taking it back to private hides it again.
    services.session_set_visibility(session=own, by=klass.instructor, visibility=Session.Visibility.PRIVATE)
    assert student.get(f"/sessions/{own.pk}/").status_code == 404
    # Students watch; they do not steer.
    services.session_set_visibility(session=own, by=klass.instructor, visibility=Session.Visibility.COURSE)
    student.post(f"/sessions/{own.pk}/start/")
    own.refresh_from_db()
    assert own.status == "draft"


def test_only_an_instructor_deletes_the_course(klass):
    client_for(klass, "ta").post(f"/courses/{klass.course.pk}/delete/")
    assert Course.objects.filter(pk=klass.course.pk).exists()
    client_for(klass, "instructor").post(f"/courses/{klass.course.pk}/delete/")
    assert not Course.objects.filter(pk=klass.course.pk).exists()


def test_assignment_form_posts_are_staff_only(klass):
    for who, expected in (("student_a", 403), ("outsider", 404)):
        response = client_for(klass, who).post(f"/courses/{klass.course.pk}/assignments/new/", assignment_post())
        assert response.status_code == expected


# --- websockets ------------------------------------------------------------------------

def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(path: str, user=None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_cookie)(user)))
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.django_db(transaction=True)
async def test_websocket_matrix():
    k = await database_sync_to_async(make_class)(opens_in_hours=2)
    await database_sync_to_async(lambda: client_for(k, "instructor").post(
        f"/courses/assignments/{k.assignment.pk}/publish/"))()
    link = await database_sync_to_async(lambda: GroupSession.objects.get(group=k.group_a))()
    wall = f"/ws/courses/assignments/{k.assignment.pk}/wall/"
    session_ws = f"/ws/sessions/{link.session_id}/"
    expected_wall = {"instructor": True, "ta": True, "student_a": False, "student_b": False, "outsider": False,
                     "anonymous": False}
    expected_session = {"instructor": True, "ta": True, "student_a": True, "student_b": False, "outsider": False,
                        "anonymous": False}
    for path, expected in ((wall, expected_wall), (session_ws, expected_session)):
        got = {}
        for who in WHO:
            comm = await _connect(path, None if who == "anonymous" else getattr(k, who))
            connected, _ = await comm.connect()
            got[who] = connected
            await comm.disconnect()
        assert got == expected, path

    # Actions are checked again on the socket: a student cannot start their group's session; the TA can.
    for who, allowed in (("student_a", False), ("ta", True)):
        comm = await _connect(session_ws, getattr(k, who))
        await comm.connect()
        await comm.send_to(text_data=json.dumps({"type": "hello", "last_seq": 0}))
        await comm.send_to(text_data=json.dumps({"action": "start"}))
        frames = []
        while not await comm.receive_nothing(1.0):
            frames.append(await comm.receive_from())
        status = await database_sync_to_async(lambda: Session.objects.get(pk=link.session_id).status)()
        assert (status == "running") == allowed, (who, frames[-3:])
        await comm.disconnect()
