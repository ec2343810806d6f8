"""Rubric grading: per-criterion levels and comments, saved scores shown on
reopen and kept across a second edit, the model judge's levels beside with
differences highlighted, instructor-judge agreement (Krippendorff's alpha),
feedback released to students, and the Canvas/Moodle grade CSVs."""

import csv
import io

import pytest
from django.test import Client

from collab.courses import selectors
from collab.courses.models import Grade, GroupSession
from tests.course_helpers import fast_passwords, make_class  # noqa: F401 (autouse fixture)
from tests.engine_helpers import wait_for

CRITERIA = ["Problem definition", "Technical feasibility", "Societal & ethical impact", "Project plan"]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grade_post(levels: list[int], comments: list[str] | None = None, overall: str = "") -> dict:
    data = {f"level:{name}": str(level) for name, level in zip(CRITERIA, levels, strict=True)}
    data.update({f"comment:{name}": text for name, text in zip(CRITERIA, comments or [""] * 4, strict=True)})
    data["comment"] = overall
    return data


@pytest.fixture
def judged(transactional_db, worker):
    """Both groups' sessions run to the end on agents alone; the faculty judge scores each proposal."""
    k = make_class(student_roles=())
    logged_in(k.instructor).post(f"/courses/assignments/{k.assignment.pk}/publish/")
    for link in GroupSession.objects.select_related("session"):
        wait_for(link.session, timeout=90)
    return k


def test_grading_round_trip_agreement_release_and_csv(judged):
    k = judged
    staff = logged_in(k.ta)
    a = k.assignment.pk
    alpha = GroupSession.objects.get(group=k.group_a)
    beta = GroupSession.objects.get(group=k.group_b)
    judge = selectors.judge_levels(alpha)
    assert set(judge) == set(CRITERIA)

    # Bad input: a missing level and an out-of-range level, named; nothing saved.
    bad = grade_post([0, 1, 2, 3])
    bad[f"level:{CRITERIA[1]}"] = ""
    bad[f"level:{CRITERIA[2]}"] = "9"
    response = staff.post(f"/courses/assignments/{a}/groups/{alpha.pk}/grade/", bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Technical feasibility: choose a level." in html and "Societal &amp; ethical impact: choose a level." in html
    assert not Grade.objects.exists()
    assert staff.post(f"/courses/assignments/{a}/groups/{alpha.pk}/grade/",
                      {**grade_post([0, 1, 2, 3]), "comment": "x" * 9000}).status_code == 400
    assert not Grade.objects.exists()

    # A grade that differs from the judge on the first criterion.
    mine = [(judge[c] + (1 if i == 0 else 0)) % 4 for i, c in enumerate(CRITERIA)]
    staff.post(f"/courses/assignments/{a}/groups/{alpha.pk}/grade/",
               grade_post(mine, ["Needs user numbers.", "", "", "Clear milestones."], "Solid start."))
    grade = Grade.objects.get(group_session=alpha)
    assert grade.scores["Problem definition"]["comment"] == "Needs user numbers."
    assert float(grade.total) == sum(m * 5 for m in mine)
    page = staff.get(f"/courses/assignments/{a}/groups/{alpha.pk}/grade/").content.decode()
    assert "Needs user numbers." in page and "Solid start." in page
    assert page.count(" checked>") == 4
    assert page.count("differs from yours") == 1
    assert 'class="card criterion differs"' in page

    # A second edit keeps what was not changed and changes what was.
    mine[1] = (mine[1] + 1) % 4
    staff.post(f"/courses/assignments/{a}/groups/{alpha.pk}/grade/",
               grade_post(mine, ["Needs user numbers.", "Feasible.", "", "Clear milestones."], "Solid start."))
    grade.refresh_from_db()
    assert grade.scores["Technical feasibility"]["level"] == mine[1]
    assert grade.scores["Project plan"]["comment"] == "Clear milestones."
    assert Grade.objects.count() == 1

    # Agreement across the class: grade Beta exactly as the judge did.
    beta_judge = selectors.judge_levels(beta)
    staff.post(f"/courses/assignments/{a}/groups/{beta.pk}/grade/", grade_post([beta_judge[c] for c in CRITERIA]))
    agreement = selectors.agreement(k.assignment)
    assert agreement["pairs"] == 8
    exact = sum(1 for c in CRITERIA if Grade.objects.get(group_session=alpha).scores[c]["level"] == judge[c]) + 4
    assert agreement["exact"] == round(exact / 8, 2)
    grades_page = staff.get(f"/courses/assignments/{a}/grades/").content.decode()
    assert "Krippendorff" in grades_page and "Across 8 criterion scores" in grades_page

    # Students see nothing until feedback is released, then their own group's only.
    student = logged_in(k.student_a)
    assert "Needs user numbers." not in student.get(f"/courses/assignments/{a}/").content.decode()
    staff.post(f"/courses/assignments/{a}/release/")
    mine_page = student.get(f"/courses/assignments/{a}/").content.decode()
    assert "Needs user numbers." in mine_page and "Feedback:" in mine_page and "Solid start." in mine_page
    assert student.get(f"/sessions/{alpha.session_id}/transcript/").status_code == 200
    assert "Needs user numbers." not in logged_in(k.student_b).get(f"/courses/assignments/{a}/").content.decode()

    # Grades CSV in Canvas's layout: one row per student, the assignment as a column.
    response = staff.get(f"/courses/assignments/{a}/grades.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       f"Bike shelter proposal ({a})"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "60"
    by_login = {r[3]: r for r in rows[2:]}
    assert set(by_login) == {"student_a", "student_b"}
    assert float(by_login["student_a"][5]) == float(Grade.objects.get(group_session=alpha).total)
    assert float(by_login["student_b"][5]) == float(Grade.objects.get(group_session=beta).total)

    per = list(csv.reader(io.StringIO(staff.get(f"/courses/assignments/{a}/criteria.csv").content.decode())))
    assert per[0][:5] == ["Student", "Username", "Group", "Problem definition", "Problem definition: comment"]
    alpha_row = next(r for r in per[1:] if r[1] == "student_a")
    assert alpha_row[2] == "Alpha" and alpha_row[4] == "Needs user numbers."
