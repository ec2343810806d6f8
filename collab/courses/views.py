"""Course pages: thin doors over services and selectors. Every view gets its
course through `_course` / `_assignment`, which check the caller's role."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from collab.courses import permissions, selectors, services
from collab.courses.forms import (
    AssignmentForm,
    CourseForm,
    GroupForm,
    JoinForm,
    RandomGroupsForm,
    RosterForm,
    StaffForm,
)
from collab.courses.models import Assignment, Course, Grade, GroupSession
from collab.courses.roster import RosterErrors
from collab.sessions.models import Session
from collab.sessions.permissions import Refused


def _course(request, pk: int, action: str) -> tuple[Course, permissions.CourseMember]:
    course = get_object_or_404(Course, pk=pk)
    return course, _check(course, request.user, action)


def _assignment(request, pk: int, action: str) -> tuple[Assignment, permissions.CourseMember]:
    assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
    return assignment, _check(assignment.course, request.user, action)


def _check(course: Course, user, action: str):
    try:
        return permissions.require(course, user, action)
    except permissions.NotMember:
        raise Http404("No such course") from None
    except permissions.Forbidden as exc:
        raise PermissionDenied(str(exc)) from None


def _link(assignment: Assignment, member, link_id: int) -> GroupSession:
    link = get_object_or_404(GroupSession.objects.select_related("session", "group", "assignment"),
                             assignment=assignment, pk=link_id)
    if member.role == permissions.R.STUDENT and member.group_id != link.group_id:
        raise Http404("No such group session")
    return link


# --- courses -----------------------------------------------------------------------

@login_required
def course_list(request):
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        course = services.course_create(by=request.user, **form.cleaned_data)
        messages.success(request, f"Course “{course.title}” created.")
        return redirect("course_detail", course.pk)
    return render(request, "courses/course_list.html", {
        "memberships": selectors.courses_of(request.user), "form": form, "join_form": JoinForm()})


@login_required
def course_join(request, code: str = ""):
    """The join link's page (GET: a Join button, so following a link never enrolls by itself) and the code form."""
    form = JoinForm(request.POST or None, initial={"join_code": code})
    if request.method == "POST" and form.is_valid():
        try:
            member = services.course_join(user=request.user, join_code=form.cleaned_data["join_code"])
        except services.CourseError as exc:
            form.add_error("join_code", exc.errors[0])
        else:
            messages.success(request, f"You joined “{member.course.title}”"
                             + (f" in {member.group.name}." if member.group else "."))
            return redirect("course_detail", member.course_id)
    course = Course.objects.filter(join_code=code.upper()).first() if code else None
    return render(request, "courses/join.html", {"form": form, "course": course, "code": code})


def _course_page(request, course, member, **forms):
    context = {
        "course": course, "member": member, "is_staff": permissions.is_staff(member),
        "can_delete": member.role == permissions.R.INSTRUCTOR,
        "assignments": course.assignments.all(),
        "join_url": request.build_absolute_uri(reverse("course_join_link", args=[course.join_code])),
    }
    if context["is_staff"]:
        context.update(roster=selectors.roster(course), groups=course.groups.all(), pending=course.pending.all(),
                       roster_form=forms.get("roster_form") or RosterForm(),
                       staff_form=forms.get("staff_form") or StaffForm(),
                       group_form=forms.get("group_form") or GroupForm(),
                       random_form=forms.get("random_form") or RandomGroupsForm(),
                       shareable=Session.objects.filter(owner=request.user).exclude(course_link__isnull=False)[:50],
                       shared=course.shares.select_related("session"))
    else:
        context.update(group_members=(member.group.members.select_related("user") if member.group else []))
    return render(request, "courses/course_detail.html", context, status=400 if forms else 200)


@login_required
def course_detail(request, pk):
    course, member = _course(request, pk, "view")
    return _course_page(request, course, member)


@login_required
@require_POST
def course_roster(request, pk):
    course, member = _course(request, pk, "manage")
    form = RosterForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            done = services.roster_import(course=course, by=request.user, text=form.cleaned_data["text"],
                                          create_groups=form.cleaned_data["create_groups"])
        except RosterErrors as exc:
            for error in exc.errors:
                form.add_error(None, error)
        else:
            messages.success(request, f"Roster read: {done['enrolled']} enrolled, {done['pending']} waiting to "
                                      f"join, {done['groups']} groups.")
            return redirect("course_detail", course.pk)
    return _course_page(request, course, member, roster_form=form)


@login_required
@require_POST
def course_staff(request, pk):
    course, member = _course(request, pk, "manage")
    form = StaffForm(request.POST)
    if form.is_valid():
        try:
            added = services.staff_add(course=course, by=request.user, **form.cleaned_data)
        except services.CourseError as exc:
            form.add_error("login", exc.errors[0])
        except permissions.Forbidden as exc:
            raise PermissionDenied(str(exc)) from None
        else:
            messages.success(request, f"{added.user.username} is now {added.get_role_display().lower()}.")
            return redirect("course_detail", course.pk)
    return _course_page(request, course, member, staff_form=form)


@login_required
@require_POST
def course_group_create(request, pk):
    course, member = _course(request, pk, "manage")
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            services.group_create(course=course, by=request.user, name=form.cleaned_data["name"])
        except services.CourseError as exc:
            form.add_error("name", exc.errors[0])
        else:
            return redirect("course_detail", course.pk)
    return _course_page(request, course, member, group_form=form)


@login_required
@require_POST
def course_groups_random(request, pk):
    course, member = _course(request, pk, "manage")
    form = RandomGroupsForm(request.POST)
    if form.is_valid():
        try:
            groups = services.groups_random(course=course, by=request.user, size=form.cleaned_data["size"])
        except services.CourseError as exc:
            form.add_error("size", exc.errors[0])
        else:
            messages.success(request, f"Students placed at random in {len(groups)} group{'s' if len(groups) != 1 else ''}.")
            return redirect("course_detail", course.pk)
    return _course_page(request, course, member, random_form=form)


@login_required
@require_POST
def course_member_group(request, pk, member_id):
    course, _ = _course(request, pk, "manage")
    raw = request.POST.get("group") or ""
    try:
        services.member_set_group(course=course, by=request.user, member_id=member_id,
                                  group_id=int(raw) if raw.isdigit() else None)
    except services.CourseError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("course_detail", args=[course.pk]) + "#roster")


@login_required
@require_POST
def course_share(request, pk):
    course, _ = _course(request, pk, "manage")
    raw = request.POST.get("session") or ""
    session = Session.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if session is None:
        messages.error(request, "Session: choose one of your sessions.")
    else:
        try:
            services.session_share(course=course, by=request.user, session=session)
            messages.success(request, f"“{session.title}” is shared with the course.")
        except Refused as exc:
            messages.error(request, str(exc))
    return redirect("course_detail", course.pk)


@login_required
@require_POST
def course_delete(request, pk):
    course, _ = _course(request, pk, "delete")
    title = course.title
    services.course_delete(course=course, by=request.user)
    messages.success(request, f"Course “{title}” deleted.")
    return redirect("course_list")


# --- assignments ------------------------------------------------------------------

@login_required
def assignment_new(request, pk):
    course, _ = _course(request, pk, "manage")
    return _assignment_form(request, course, None)


@login_required
def assignment_edit(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    return _assignment_form(request, assignment.course, assignment)


def _assignment_form(request, course, assignment):
    initial = AssignmentForm.initial_from(assignment) if assignment else {}
    form = AssignmentForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = services.assignment_save(course=course, by=request.user, data=form.assignment_data(),
                                         assignment=assignment)
        messages.success(request, "Assignment saved.")
        return redirect("assignment_detail", saved.pk)
    return render(request, "courses/assignment_form.html", {"form": form, "course": course, "assignment": assignment},
                  status=400 if form.errors else 200)


@login_required
def assignment_detail(request, pk):
    assignment, member = _assignment(request, pk, "view")
    services.open_due_sessions(assignment=assignment)
    links = selectors.group_sessions(assignment, member)
    is_staff = permissions.is_staff(member)
    rows = [{"link": link, "late": selectors.is_late(link),
             "grade": Grade.objects.filter(group_session=link).first()
             if is_staff or assignment.feedback_released_at else None,
             "holders": services.seat_holders(link)} for link in links]
    return render(request, "courses/assignment_detail.html", {
        "assignment": assignment, "course": assignment.course, "member": member, "is_staff": is_staff,
        "rows": rows, "is_open": selectors.is_open(assignment)})


@login_required
@require_POST
def assignment_publish(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    try:
        links = services.assignment_publish(assignment=assignment, by=request.user)
    except services.CourseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Published: {len(links)} group session{'s' if len(links) != 1 else ''}.")
    return redirect("assignment_detail", assignment.pk)


@login_required
@require_POST
def group_action(request, pk, link_id, action):
    assignment, member = _assignment(request, pk, "view")
    link = _link(assignment, member, link_id)
    try:
        if action == "help":
            services.help_raise(link=link, by=request.user, note=request.POST.get("note", ""))
            messages.success(request, "Your instructors see your help flag on their wall.")
        elif action == "clear_help":
            services.help_clear(link=link, by=request.user)
        elif action == "restart":
            services.group_session_restart(assignment=assignment, by=request.user, link_id=link.pk)
            messages.success(request, f"{link.group.name} has a fresh session.")
        elif action == "reopen":
            services.group_session_reopen(assignment=assignment, by=request.user, link_id=link.pk)
            messages.success(request, f"{link.group.name} may work for another 24 hours.")
        elif action == "pause":
            services.group_pause(assignment=assignment, by=request.user, link_id=link.pk)
        elif action == "hint":
            services.hint(assignment=assignment, by=request.user, text=request.POST.get("text", ""), link_id=link.pk)
            messages.success(request, f"Hint sent to {link.group.name}.")
        else:
            raise Http404("Unknown action")
    except permissions.Forbidden as exc:
        raise PermissionDenied(str(exc)) from None
    except (services.CourseError, Refused) as exc:
        messages.error(request, str(exc))
    return redirect(request.POST.get("back") == "wall" and reverse("assignment_wall", args=[assignment.pk])
                    or reverse("assignment_detail", args=[assignment.pk]))


@login_required
@require_POST
def assignment_broadcast(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    try:
        sent = services.hint(assignment=assignment, by=request.user, text=request.POST.get("text", ""))
        messages.success(request, f"Hint sent to {sent} group{'s' if sent != 1 else ''}.")
    except (services.CourseError, Refused) as exc:
        messages.error(request, str(exc))
    return redirect("assignment_wall", assignment.pk)


@login_required
def assignment_wall(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    services.open_due_sessions(assignment=assignment)
    tiles = [selectors.tile(link) for link in selectors.group_sessions(assignment)]
    return render(request, "courses/wall.html", {"assignment": assignment, "course": assignment.course,
                                                 "tiles": tiles})


# --- grading ---------------------------------------------------------------------

@login_required
def grade_form(request, pk, link_id):
    assignment, member = _assignment(request, pk, "manage")
    link = _link(assignment, member, link_id)
    grade = Grade.objects.filter(group_session=link).first()
    errors = []
    if request.method == "POST":
        levels = {c["name"]: request.POST.get(f"level:{c['name']}", "") for c in assignment.rubric}
        comments = {c["name"]: request.POST.get(f"comment:{c['name']}", "") for c in assignment.rubric}
        try:
            services.grade_save(link=link, by=request.user, levels=levels, comments=comments,
                                comment=request.POST.get("comment", ""))
        except services.CourseError as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Grade saved for {link.group.name}.")
            return redirect("grade_form", assignment.pk, link.pk)
    judge = selectors.judge_levels(link)
    saved = grade.scores if grade else {}
    criteria = []
    for c in assignment.rubric:
        mine = (request.POST.get(f"level:{c['name']}") if request.method == "POST" else None)
        chosen = int(mine) if mine and mine.isdigit() else saved.get(c["name"], {}).get("level")
        judged = judge.get(c["name"])
        criteria.append({"c": c, "chosen": chosen, "judge": judged,
                         "judge_label": c["levels"][judged]["label"] if judged is not None and judged < len(
                             c["levels"]) else None,
                         "differs": chosen is not None and judged is not None and chosen != judged,
                         "comment": request.POST.get(f"comment:{c['name']}") if request.method == "POST"
                         else saved.get(c["name"], {}).get("comment", "")})
    return render(request, "courses/grade_form.html", {
        "assignment": assignment, "course": assignment.course, "link": link, "grade": grade, "criteria": criteria,
        "errors": errors, "comment": request.POST.get("comment") if request.method == "POST"
        else (grade.comment if grade else ""), "has_judge": bool(judge)}, status=400 if errors else 200)


@login_required
def grades(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    return render(request, "courses/grades.html", {
        "assignment": assignment, "course": assignment.course, "rows": selectors.grading_rows(assignment),
        "agreement": selectors.agreement(assignment), "max_points": assignment.max_points()})


@login_required
@require_POST
def feedback_release(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    release = request.POST.get("release") != "0"
    services.feedback_release(assignment=assignment, by=request.user, release=release)
    messages.success(request, "Feedback released to students." if release else "Feedback hidden from students.")
    return redirect("grades", assignment.pk)


def _csv(filename: str) -> tuple[HttpResponse, csv.writer]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response, csv.writer(response)


@login_required
def grades_csv(request, pk):
    """Canvas's gradebook import layout (Moodle reads it too): one row per
    student, the assignment as a column titled "<title> (<id>)"."""
    assignment, _ = _assignment(request, pk, "manage")
    response, out = _csv(f"grades-{assignment.pk}.csv")
    out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{assignment.title} ({assignment.pk})"])
    out.writerow(["    Points Possible", "", "", "", "", assignment.max_points()])
    for row in selectors.student_rows(assignment):
        user = row["member"].user
        name = f"{user.last_name}, {user.first_name}" if user.last_name else (user.get_full_name() or user.username)
        out.writerow([name, user.pk, "", user.email or user.username, assignment.course.title,
                      row["grade"].total if row["grade"] else ""])
    return response


@login_required
def criteria_csv(request, pk):
    assignment, _ = _assignment(request, pk, "manage")
    response, out = _csv(f"grades-{assignment.pk}-criteria.csv")
    names = [c["name"] for c in assignment.rubric]
    out.writerow(["Student", "Username", "Group"] + [h for n in names for h in (n, f"{n}: comment")] + ["Total"])
    for row in selectors.student_rows(assignment):
        member, grade = row["member"], row["grade"]
        scores = grade.scores if grade else {}
        out.writerow([member.user.get_full_name() or member.user.username, member.user.username,
                      member.group.name if member.group else ""]
                     + [v for n in names for v in (scores.get(n, {}).get("points", ""),
                                                   scores.get(n, {}).get("comment", ""))]
                     + [grade.total if grade else ""])
    return response
