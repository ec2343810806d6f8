"""Courses: a roster of instructors, TAs and students in groups, design-project
assignments that become one session per group, and rubric grades."""

import secrets

from django.conf import settings
from django.db import models


def new_join_code() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")[:8].upper()


class Course(models.Model):
    title = models.CharField(max_length=200)
    code = models.CharField(max_length=40, blank=True, help_text="The course's catalogue code, e.g. ENGR 490")
    join_code = models.CharField(max_length=16, unique=True, default=new_join_code)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Group(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["course", "name"]
        constraints = [models.UniqueConstraint(fields=["course", "name"], name="one_group_name_per_course")]

    def __str__(self) -> str:
        return self.name


class CourseMember(models.Model):
    class Role(models.TextChoices):
        INSTRUCTOR = "instructor", "Instructor"
        TA = "ta", "Teaching assistant"
        STUDENT = "student", "Student"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.STUDENT)
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "role", "user__username"]
        constraints = [models.UniqueConstraint(fields=["course", "user"], name="one_course_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.course_id}"


class RosterEntry(models.Model):
    """A roster row whose person has no account yet: they land in their group on joining."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="pending")
    name = models.CharField(max_length=200)
    login = models.CharField(max_length=254, help_text="Email or username, lower case")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "login"], name="one_roster_entry_per_login")]

    def __str__(self) -> str:
        return f"{self.login} (not joined) in {self.course_id}"


class Assignment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    title = models.CharField(max_length=200)
    brief = models.TextField(help_text="The project brief, in Markdown")
    preset = models.CharField(max_length=60, blank=True, help_text="Team template: a preset...")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="...or a saved team")
    student_roles = models.JSONField(default=list, help_text="Roles students play; agents play the rest")
    protocol = models.CharField(max_length=40, default="scenario")
    protocol_params = models.JSONField(default=dict, blank=True)
    topology = models.CharField(max_length=40, default="everyone")
    rubric = models.JSONField(default=list, help_text="[{name, description, levels: [{label, points, descriptor}]}]")
    model_profile = models.ForeignKey("teams.ModelProfile", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    token_budget = models.PositiveIntegerField(null=True, blank=True)
    cost_budget = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    max_turns = models.PositiveIntegerField(default=60)
    seat_timeout = models.PositiveIntegerField(default=120, help_text="Seconds before an absent student's agent answers")
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    feedback_released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "due_at", "id"]

    def __str__(self) -> str:
        return self.title

    def max_points(self) -> int:
        return sum(max((lv["points"] for lv in c["levels"]), default=0) for c in self.rubric)


class GroupSession(models.Model):
    """A group's session for an assignment. Restarting makes a new one; the old stays as history."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="group_sessions")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="group_sessions")
    session = models.OneToOneField("collab_sessions.Session", on_delete=models.CASCADE, related_name="course_link")
    current = models.BooleanField(default=True)
    reopened_until = models.DateTimeField(null=True, blank=True, help_text="Staff let students work past the due time")
    help_requested_at = models.DateTimeField(null=True, blank=True)
    help_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assignment", "group__name", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["assignment", "group"], condition=models.Q(current=True),
                                               name="one_current_session_per_group")]

    def __str__(self) -> str:
        return f"{self.group} in {self.assignment_id}: session {self.session_id}"


class CourseShare(models.Model):
    """A session shared with a whole course (visibility "Shared with a course")."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="shares")
    session = models.ForeignKey("collab_sessions.Session", on_delete=models.CASCADE, related_name="course_shares")
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "session"], name="one_share_per_course")]

    def __str__(self) -> str:
        return f"session {self.session_id} shared with {self.course_id}"


class Grade(models.Model):
    """The grader's rubric scores of one group's work: {criterion: {"level": i, "points": p, "comment": str}}."""

    group_session = models.OneToOneField(GroupSession, on_delete=models.CASCADE, related_name="grade")
    scores = models.JSONField(default=dict)
    comment = models.TextField(blank=True)
    total = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    grader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"grade of {self.group_session}"
