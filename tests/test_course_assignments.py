"""Design-project assignments: publishing makes one session per group, the
brief drives the work, students hold their seats from their own logins, an
absent student's agent answers after the timeout, staff restart, reopen and
hint; past the due time students are locked out, and work after a reopen is
marked late. Bad input names its field and creates nothing."""

import time

import pytest
from django.test import Client
from django.utils import timezone

from collab.courses import selectors
from collab.courses.models import Assignment, GroupSession
from collab.sessions.models import Event, Seat, Session
from tests.course_helpers import BRIEF, assignment_post, fast_passwords, make_class  # noqa: F401 (autouse fixture)
from tests.engine_helpers import wait_for, wait_until


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_publish_plays_with_students_and_agents(worker):
    k = make_class(student_roles=("Problem Formulation",), seat_timeout=2)
    staff = logged_in(k.instructor)
    response = staff.post(f"/courses/assignments/{k.assignment.pk}/publish/")
    assert response.status_code == 302
    links = {link.group.name: link for link in GroupSession.objects.select_related("session", "group")}
    assert set(links) == {"Alpha", "Beta"}
    for link, student in ((links["Alpha"], k.student_a), (links["Beta"], k.student_b)):
        s = link.session
        assert s.brief == BRIEF and s.scenario_params["brief"] == BRIEF
        assert s.token_budget == 50000
        seat = Seat.objects.get(session=s, role_name="Problem Formulation")
        assert seat.holder == "human" and seat.user == student and seat.timeout_seconds == 2
        assert Seat.objects.filter(session=s, holder="agent").count() == 4

    # Student A plays their seat from their own login; student B is absent.
    alpha, beta = links["Alpha"].session, links["Beta"].session
    student = logged_in(k.student_a)
    spoken = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        alpha.refresh_from_db()
        if alpha.is_over:
            break
        if alpha.status == Session.Status.AWAITING_HUMAN:
            student.post(f"/sessions/{alpha.pk}/say/", {"role": "Problem Formulation",
                                                         "text": f"Riders need 40 racks and lighting ({spoken})."})
            spoken += 1
            wait_until(lambda: Session.objects.get(pk=alpha.pk).status != Session.Status.AWAITING_HUMAN, 20,
                       "the student's turn to be taken")
        time.sleep(0.1)
    wait_for(alpha, timeout=60)
    wait_for(beta, timeout=90)
    assert spoken == 2
    said = Event.objects.filter(session=alpha, kind="message", payload__human="student_a")
    assert said.count() == 2
    assert not Event.objects.filter(session=alpha, payload__seat_timeout="Problem Formulation").exists()
    timed_out = Event.objects.filter(session=beta, kind="notice", payload__seat_timeout="Problem Formulation")
    assert timed_out.count() == 2
    # The page says so.
    page = logged_in(k.student_b).get(f"/sessions/{beta.pk}/").content.decode()
    assert "seat timed out; the agent answered" in page
    # The brief drove the work, and the judge scored it.
    proposal = Event.objects.get(session=alpha, kind="action", actor="Project Manager").payload["action"]["proposal"]
    assert "bike shelter" in proposal
    alpha.refresh_from_db()
    assert selectors.judge_levels(links["Alpha"])
    # Each student sees their own group's session only.
    html = student.get(f"/courses/assignments/{k.assignment.pk}/").content.decode()
    assert "Alpha" in html and "Beta" not in html
    assert student.get(f"/sessions/{beta.pk}/").status_code == 404


@pytest.mark.django_db
def test_not_yet_open_sessions_wait_as_drafts():
    k = make_class(opens_in_hours=2)
    logged_in(k.instructor).post(f"/courses/assignments/{k.assignment.pk}/publish/")
    assert set(Session.objects.values_list("status", flat=True)) == {"draft"}
    again = logged_in(k.instructor).post(f"/courses/assignments/{k.assignment.pk}/publish/", follow=True)
    assert "published already" in again.content.decode()
    assert Session.objects.count() == 2
    # Opening time comes: the first visit to the assignment starts the groups' sessions.
    Assignment.objects.filter(pk=k.assignment.pk).update(opens_at=timezone.now() - timezone.timedelta(minutes=1))
    assert logged_in(k.student_b).get(f"/courses/assignments/{k.assignment.pk}/").status_code == 200
    assert set(Session.objects.values_list("status", flat=True)) == {"running"}


@pytest.mark.django_db
def test_past_due_is_locked_for_students_until_reopened_and_then_late(client):
    k = make_class(opens_in_hours=2)
    logged_in(k.instructor).post(f"/courses/assignments/{k.assignment.pk}/publish/")
    link = GroupSession.objects.get(group=k.group_a)
    session = link.session
    # Time passes: it was published three hours ago and was due an hour ago.
    past = timezone.now() - timezone.timedelta(hours=3)
    Assignment.objects.filter(pk=k.assignment.pk).update(opens_at=past, due_at=past + timezone.timedelta(hours=2))
    Event.objects.filter(session=session).update(created_at=past)
    student = logged_in(k.student_a)
    student.post(f"/sessions/{session.pk}/release_seat/", {"role": "Project Manager"})
    refused = student.post(f"/sessions/{session.pk}/take_seat/", {"role": "Project Manager"}, follow=True)
    assert "the session is locked" in refused.content.decode()
    assert Seat.objects.get(session=session, role_name="Project Manager").holder == "agent"
    assert not selectors.is_late(GroupSession.objects.get(pk=link.pk))
    # Staff reopen; the student works again, and the group is marked late.
    logged_in(k.ta).post(f"/courses/assignments/{k.assignment.pk}/groups/{link.pk}/reopen/")
    student.post(f"/sessions/{session.pk}/take_seat/", {"role": "Project Manager"})
    assert Seat.objects.get(session=session, role_name="Project Manager").user == k.student_a
    page = logged_in(k.instructor).get(f"/courses/assignments/{k.assignment.pk}/").content.decode()
    assert ">late<" in page


@pytest.mark.django_db
def test_staff_restart_and_hint():
    k = make_class(opens_in_hours=2)
    ta = logged_in(k.ta)
    ta.post(f"/courses/assignments/{k.assignment.pk}/publish/")
    link = GroupSession.objects.get(group=k.group_a)
    ta.post(f"/courses/assignments/{k.assignment.pk}/groups/{link.pk}/hint/", {"text": "Think about lighting."})
    assert Event.objects.filter(session=link.session, payload__text="Hint from ta: Think about lighting.").exists()
    ta.post(f"/courses/assignments/{k.assignment.pk}/groups/{link.pk}/restart/")
    old = GroupSession.objects.get(pk=link.pk)
    assert not old.current and old.session.status == "finished"
    fresh = GroupSession.objects.get(group=k.group_a, current=True)
    assert fresh.session_id != old.session_id and fresh.session.status == "running"
    assert Seat.objects.get(session=fresh.session, role_name="Project Manager").user == k.student_a
    assert GroupSession.objects.filter(group=k.group_b, current=True).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("field, value, message", [
    ("brief", "   ", "Write the project brief"),
    ("rubric", "[]", "The rubric needs at least one criterion."),
    ("rubric", '[{"name": "Plan", "levels": [{"label": "Only", "points": 1}]}]', "give at least two levels"),
    ("rubric", "{not json", "Not valid JSON"),
    ("token_budget", "0", "greater than or equal to 1"),
    ("cost_budget", "0", "greater than or equal to 0.0001"),
    ("student_roles", "Astronaut", "No role Astronaut in the team"),
    ("title", "Bike\x00", "Null characters are not allowed"),
    ("due_at", "2020-01-01T00:00", "The due time must be after the opening time."),
])
def test_bad_assignment_input_names_the_field_and_creates_nothing(field, value, message):
    k = make_class()
    before = Assignment.objects.count()
    response = logged_in(k.instructor).post(f"/courses/{k.course.pk}/assignments/new/", assignment_post(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Assignment.objects.count() == before


@pytest.mark.django_db
def test_assignment_created_and_edited_through_the_form():
    k = make_class()
    staff = logged_in(k.instructor)
    response = staff.post(f"/courses/{k.course.pk}/assignments/new/", assignment_post(title="Shelter v2"))
    created = Assignment.objects.get(title="Shelter v2")
    assert response["Location"] == f"/courses/assignments/{created.pk}/"
    assert created.protocol == "scenario" and created.protocol_params["scenario"] == "design_review"
    assert created.student_roles == ["Project Manager", "Problem Formulation"]
    form = staff.get(f"/courses/assignments/{created.pk}/edit/").content.decode()
    assert "Shelter v2" in form
    staff.post(f"/courses/assignments/{created.pk}/edit/", assignment_post(title="Shelter v3", max_turns="40"))
    created.refresh_from_db()
    assert created.title == "Shelter v3" and created.max_turns == 40
    staff.post(f"/courses/assignments/{created.pk}/edit/", assignment_post(title="Shelter v4"))
    created.refresh_from_db()
    assert created.title == "Shelter v4" and created.max_turns == 60


@pytest.mark.django_db(transaction=True)
def test_assignment_model_profile_drives_every_agent_over_http(worker):
    """A model profile chosen for the assignment runs every agent role of the
    groups' sessions through the real openai client (against the fake server)."""
    import json

    from collab.courses import services
    from collab.courses.models import CourseMember
    from collab.llm.fake_server import FakeServerConfig, run_in_thread
    from collab.sessions.models import LLMCall
    from tests.engine_helpers import fake_profile

    proposal = {"proposal": "A lit bike shelter for 40 bikes", "sections": {"Problem definition": "40 riders."}}
    verdict = {"scores": {"Problem definition": 2, "Technical feasibility": 1, "Societal & ethical impact": 0,
                          "Project plan": 1}, "rationale": "Thin on the plan."}
    with run_in_thread(FakeServerConfig(replies=[json.dumps(proposal), json.dumps(verdict)])) as server:
        profile = fake_profile(server)
        k = make_class(student_roles=(), model_profile=profile, protocol_params={
            "scenario": "design_review", "params": {"judge_role": "Faculty Judge", "talk_rounds": 0}})
        beta = CourseMember.objects.get(course=k.course, user=k.student_b)
        services.member_set_group(course=k.course, by=k.instructor, member_id=beta.pk, group_id=None)
        logged_in(k.instructor).post(f"/courses/assignments/{k.assignment.pk}/publish/")
        link = GroupSession.objects.select_related("session").get()
        session = wait_for(link.session, timeout=60)
    assert session.provider == "openai" and session.status == "finished", session.end_reason
    assert {r["model_profile"]["base_url"] for r in session.team_snapshot["roles"]} == {server.base_url}
    calls = LLMCall.objects.filter(session=session)
    assert calls.count() == 2 and set(calls.values_list("base_url", flat=True)) == {server.base_url}
    assert "bike shelter" in json.dumps(server.requests[0]["messages"])
    assert selectors.judge_levels(link) == verdict["scores"]
    assert session.tokens_used > 0
