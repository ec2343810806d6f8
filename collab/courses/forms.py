"""Course forms: each field checked with a message naming it; an assignment's
rubric and team template checked whole before anything is saved."""

import json
from decimal import Decimal

from django import forms
from django.utils import timezone

from collab.courses.models import Assignment
from collab.engine import scenarios
from collab.engine.protocols import PROTOCOLS
from collab.teams.models import ModelProfile, Team
from collab.teams.presets import PRESETS


def _no_nul(value: str, label: str) -> str:
    if "\x00" in (value or ""):
        raise forms.ValidationError(f"{label} contains a NUL byte.")
    return value


class CourseForm(forms.Form):
    title = forms.CharField(max_length=200)
    code = forms.CharField(max_length=40, required=False, help_text="Catalogue code, e.g. ENGR 490")

    def clean_title(self):
        return _no_nul(self.cleaned_data["title"], "The title").strip()


class JoinForm(forms.Form):
    join_code = forms.CharField(max_length=16, label="Join code")


class StaffForm(forms.Form):
    login = forms.CharField(max_length=254, label="Username or email")
    role = forms.ChoiceField(choices=[("ta", "Teaching assistant"), ("instructor", "Instructor")], initial="ta")


class RosterForm(forms.Form):
    csv_file = forms.FileField(required=False, label="Roster CSV",
                               help_text="One row per student: name, email or username, group (a header row is fine)")
    csv_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
                               label="…or paste the rows")
    create_groups = forms.BooleanField(required=False, initial=True, label="Create the groups the roster names")

    def clean(self):
        data = super().clean()
        upload = data.get("csv_file")
        if upload:
            if upload.size > 512 * 1024:
                raise forms.ValidationError("Roster CSV: the file is larger than 512 KB.")
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("Roster CSV: the file is not UTF-8 text.") from None
        else:
            data["text"] = data.get("csv_text") or ""
        if not data["text"].strip():
            raise forms.ValidationError("Roster CSV: upload a file or paste the rows.")
        return data


class GroupForm(forms.Form):
    name = forms.CharField(max_length=80, label="New group")


class RandomGroupsForm(forms.Form):
    size = forms.IntegerField(min_value=1, max_value=50, initial=3, label="Students per group")


LEVEL_LABELS = ["Missing", "Developing", "Proficient", "Exemplary"]
DEFAULT_RUBRIC = [
    {"name": "Problem definition", "description": "The need, the users and measurable requirements are stated."},
    {"name": "Technical feasibility", "description": "The approach can be built; risks are named."},
    {"name": "Societal & ethical impact", "description": "Effects on people, safety and environment are weighed."},
    {"name": "Project plan", "description": "Milestones, roles and schedule are realistic."},
]


def default_rubric() -> list[dict]:
    return [{**c, "levels": [{"label": label, "points": i * 5, "descriptor": ""}
                             for i, label in enumerate(LEVEL_LABELS)]} for c in DEFAULT_RUBRIC]


def protocol_choices() -> list[tuple[str, str]]:
    return ([("", "The preset's own protocol")]
            + [(f"scenario:{sc.key}", f"Scenario: {sc.title}") for sc in scenarios.all_scenarios()]
            + [(p.key, p.title) for p in PROTOCOLS.all() if p.key != "scenario"])


class AssignmentForm(forms.Form):
    title = forms.CharField(max_length=200)
    brief = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Project brief (Markdown)", required=False)
    preset = forms.ChoiceField(required=False, label="Team template: a preset",
                               choices=[("", "—")] + [(k, p.title) for k, p in PRESETS.items()])
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="…or one of your saved teams")
    student_roles = forms.CharField(max_length=500, label="Roles students play",
                                    help_text="Role names, comma-separated; agents play the others")
    protocol = forms.ChoiceField(required=False, choices=protocol_choices, label="Protocol or scenario")
    rubric = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
                             help_text="JSON: [{name, description, levels: [{label, points, descriptor}]}]")
    model_profile = forms.ModelChoiceField(queryset=ModelProfile.objects.none(), required=False,
                                           help_text="Empty: the server's default model, or offline scripted agents")
    token_budget = forms.IntegerField(required=False, min_value=1, max_value=100_000_000,
                                      help_text="Per group; empty: no token budget")
    cost_budget = forms.DecimalField(required=False, min_value=Decimal("0.0001"), max_digits=10, decimal_places=4,
                                     help_text="Per group, in USD; empty: no cost budget")
    max_turns = forms.IntegerField(min_value=1, max_value=1000, initial=60)
    seat_timeout = forms.IntegerField(min_value=5, max_value=3600, initial=120, label="Seat timeout (seconds)",
                                      help_text="An absent student's agent answers after this long")
    opens_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    due_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(owner=user)
        # Their own and the published profiles, and the one the assignment already uses (set by a colleague).
        usable = ModelProfile.objects.usable_by(user)
        current = self.initial.get("model_profile")
        if current:
            usable = usable | ModelProfile.objects.filter(pk=getattr(current, "pk", current))
        self.fields["model_profile"].queryset = usable
        if not self.is_bound and "rubric" not in self.initial:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.update(rubric=json.dumps(default_rubric(), indent=1), preset="senior_design_panel",
                                protocol="", student_roles="Project Manager, Problem Formulation",
                                opens_at=now, due_at=now + timezone.timedelta(days=7))

    def clean_title(self):
        return _no_nul(self.cleaned_data["title"], "Title").strip()

    def clean_brief(self):
        brief = _no_nul(self.cleaned_data["brief"], "Brief").strip()
        if not brief:
            raise forms.ValidationError("Write the project brief: it is the task every group works on.")
        if len(brief) > 20000:
            raise forms.ValidationError("The brief is longer than 20,000 characters.")
        return brief

    def clean_student_roles(self):
        names = [n.strip() for n in _no_nul(self.cleaned_data["student_roles"], "Roles").split(",") if n.strip()]
        if len(set(names)) != len(names):
            raise forms.ValidationError("A role is named twice.")
        return names

    def clean_rubric(self):
        raw = _no_nul(self.cleaned_data["rubric"], "Rubric")
        try:
            rubric = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        return check_rubric(rubric)

    def clean(self):
        data = super().clean()
        preset, team = data.get("preset"), data.get("team")
        if bool(preset) == bool(team):
            self.add_error("preset", "Choose either a preset or a saved team as the team template.")
            return data
        roles = ([r["name"] for r in PRESETS[preset].roles] if preset
                 else list(team.roles.values_list("name", flat=True)))
        unknown = [r for r in data.get("student_roles") or [] if r not in roles]
        if unknown:
            self.add_error("student_roles", f"No role {', '.join(unknown)} in the team ({', '.join(roles)}).")
        protocol = data.get("protocol") or ""
        if protocol.startswith("scenario:"):
            data["protocol"], data["protocol_params"] = "scenario", {"scenario": protocol.split(":", 1)[1]}
        elif protocol:
            data["protocol"], data["protocol_params"] = protocol, {}
        elif preset:
            data["protocol"] = PRESETS[preset].protocol
            data["protocol_params"] = dict(PRESETS[preset].protocol_params)
        else:
            self.add_error("protocol", "A saved team has no protocol of its own: choose one.")
        opens, due = data.get("opens_at"), data.get("due_at")
        if opens and due and due <= opens:
            self.add_error("due_at", "The due time must be after the opening time.")
        data["topology"] = PRESETS[preset].topology if preset else "everyone"
        return data

    def assignment_data(self) -> dict:
        d = self.cleaned_data
        fields = ["title", "brief", "preset", "team", "student_roles", "protocol", "protocol_params", "topology",
                  "rubric", "model_profile", "token_budget", "cost_budget", "max_turns", "seat_timeout", "opens_at",
                  "due_at"]
        return {f: d.get(f) if f != "preset" else (d.get("preset") or "") for f in fields}

    @classmethod
    def initial_from(cls, a: Assignment) -> dict:
        protocol = (f"scenario:{a.protocol_params.get('scenario')}" if a.protocol == "scenario" else a.protocol)
        return {"title": a.title, "brief": a.brief, "preset": a.preset, "team": a.team_id,
                "student_roles": ", ".join(a.student_roles), "protocol": protocol,
                "rubric": json.dumps(a.rubric, indent=1), "model_profile": a.model_profile_id,
                "token_budget": a.token_budget, "cost_budget": a.cost_budget, "max_turns": a.max_turns,
                "seat_timeout": a.seat_timeout, "opens_at": timezone.localtime(a.opens_at),
                "due_at": timezone.localtime(a.due_at)}


def check_rubric(rubric) -> list[dict]:
    """Criteria with at least two levels each; points are numbers; names unique."""
    if not isinstance(rubric, list) or not rubric:
        raise forms.ValidationError("The rubric needs at least one criterion.")
    clean, names = [], set()
    for i, c in enumerate(rubric, start=1):
        where = f"Criterion {i}"
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"].strip():
            raise forms.ValidationError(f"{where}: give it a name.")
        name = c["name"].strip()[:120]
        if name in names:
            raise forms.ValidationError(f"{where}: {name!r} is named twice.")
        names.add(name)
        levels = c.get("levels")
        if not isinstance(levels, list) or len(levels) < 2:
            raise forms.ValidationError(f"{where} ({name}): give at least two levels.")
        clean_levels = []
        for j, lv in enumerate(levels, start=1):
            if not isinstance(lv, dict) or not isinstance(lv.get("label"), str) or not lv["label"].strip():
                raise forms.ValidationError(f"{where} ({name}), level {j}: give it a label.")
            points = lv.get("points")
            if isinstance(points, bool) or not isinstance(points, int | float) or not 0 <= points <= 1000:
                raise forms.ValidationError(f"{where} ({name}), level {j}: points must be a number from 0 to 1000.")
            clean_levels.append({"label": lv["label"].strip()[:80], "points": points,
                                 "descriptor": str(lv.get("descriptor") or "")[:1000]})
        clean.append({"name": name, "description": str(c.get("description") or "")[:1000], "levels": clean_levels})
    return clean
