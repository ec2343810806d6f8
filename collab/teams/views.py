"""The team builder: a user's teams, their roles, presets and model profiles."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.forms.formsets import ORDERING_FIELD_NAME, TOTAL_FORM_COUNT
from django.forms.utils import ErrorDict, ErrorList
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from collab.teams.forms import ModelProfileForm, RoleFormSet, TeamForm, role_forms_in_order
from collab.teams.models import ModelProfile, Role, Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset

ROLES_PREFIX = "roles"


def _owned_team(request, pk) -> Team:
    """The user's own team; 404 for anyone else's, as if it did not exist."""
    return get_object_or_404(Team, pk=pk, owner=request.user)


@login_required
def team_list(request):
    teams = Team.objects.filter(owner=request.user).prefetch_related("roles")
    return render(request, "teams/team_list.html", {"teams": teams, "presets": PRESETS.values()})


@login_required
@require_POST
def team_from_preset(request, key):
    if key not in PRESETS:
        raise Http404("No such preset")
    team = team_create_from_preset(preset_key=key, owner=request.user)
    messages.success(request, f"Made “{team.name}” from the preset. Adjust its roles, then save.")
    return redirect("team_edit", team.pk)


@login_required
def team_new(request):
    return _team_form(request, Team(owner=request.user))


@login_required
def team_edit(request, pk):
    return _team_form(request, _owned_team(request, pk))


@login_required
@require_POST
def team_delete(request, pk):
    team = _owned_team(request, pk)
    name = team.name
    team.delete()
    messages.success(request, f"Deleted the team “{name}”.")
    return redirect("team_list")


def _team_form(request, team: Team):
    creating = team.pk is None
    team.saved_name = team.name  # validation writes the typed name into the instance
    if request.method != "POST":
        form = TeamForm(instance=team, owner=request.user)
        formset = RoleFormSet(instance=team, prefix=ROLES_PREFIX, queryset=_roles(team),
                              form_kwargs={"user": request.user})
        formset.extra = 1 if creating else 0  # a new team starts with one empty role
        return _render_team_form(request, team, form, formset)

    if "add_role" in request.POST:
        # Without JavaScript: the same page again, everything typed kept, one more empty role.
        data = _with_one_more_role(request.POST)
        form = TeamForm(data, instance=team, owner=request.user)
        formset = RoleFormSet(data, instance=team, prefix=ROLES_PREFIX, queryset=_roles(team),
                              form_kwargs={"user": request.user})
        _quiet(form, formset)
        # Focus the new role's name instead of the team's.
        form.fields["name"].widget.attrs.pop("autofocus", None)
        formset.forms[-1].fields["name"].widget.attrs["autofocus"] = True
        return _render_team_form(request, team, form, formset)

    form = TeamForm(request.POST, instance=team, owner=request.user)
    formset = RoleFormSet(request.POST, instance=team, prefix=ROLES_PREFIX, queryset=_roles(team),
                              form_kwargs={"user": request.user})
    if form.is_valid() and formset.is_valid():
        try:
            team = _save(form, formset, owner=request.user)
        except IntegrityError:
            # A race with another tab: the checks passed, the database said no.
            if creating:
                team.pk, team._state.adding = None, True
            form.add_error(None, "Another team or role with one of these names was saved meanwhile. "
                                 "Check the names and save again.")
        else:
            messages.success(request, f"{'Created' if creating else 'Saved'} the team “{team.name}”.")
            return redirect("team_edit", team.pk)
    return _render_team_form(request, team, form, formset)


def _roles(team: Team):
    return team.roles.select_related("model_profile") if team.pk else Role.objects.none()


@transaction.atomic
def _save(form: TeamForm, formset, *, owner) -> Team:
    team = form.save(commit=False)
    team.owner = owner
    team.save()
    formset.instance = team
    for gone in formset.deleted_forms:
        if gone.instance.pk:
            gone.instance.delete()
    kept = formset.ordered_forms
    # Free the old names of renamed roles first, so swapping two names does not trip the
    # database's unique (team, name) constraint halfway through.
    renamed = [f.instance.pk for f in kept if f.instance.pk and "name" in f.changed_data]
    for pk in renamed:
        Role.objects.filter(pk=pk).update(name=f"~renaming-{pk}")
    for position, role_form in enumerate(kept):
        role = role_form.save(commit=False)
        role.team = team
        role.order = position
        role.save()
    return team


def _with_one_more_role(post):
    data = post.copy()
    key = f"{ROLES_PREFIX}-{TOTAL_FORM_COUNT}"
    try:
        index = int(data.get(key, 0))
    except ValueError:
        index = 0
    index = max(0, min(index, RoleFormSet.absolute_max - 1))
    data[key] = str(index + 1)
    # The new role starts from the same values an empty form shows, so it counts as untouched.
    for name, field in RoleFormSet.form.base_fields.items():
        initial = field.initial() if callable(field.initial) else field.initial
        if initial is not None:
            data[f"{ROLES_PREFIX}-{index}-{name}"] = str(initial)
    data[f"{ROLES_PREFIX}-{index}-{ORDERING_FIELD_NAME}"] = str(index + 1)
    return data


def _quiet(form, formset) -> None:
    """Bound forms whose errors are not shown: the user asked for a role, not a check."""
    form._errors = ErrorDict()
    for f in formset.forms:
        f._errors = ErrorDict()
    formset._errors = [ErrorDict() for _ in formset.forms]
    formset._non_form_errors = ErrorList()


def _render_team_form(request, team, form, formset):
    role_forms = role_forms_in_order(formset) if formset.is_bound else formset.forms
    role_errors = formset.total_error_count() if formset.is_bound else 0  # validates the roles too
    has_errors = bool(form.errors or role_errors)
    if has_errors:
        _autofocus_first_error(form, [f for f in role_forms if not formset._should_delete_form(f)])
    return render(request, "teams/team_form.html", {
        "team": team,
        "creating": team.pk is None,
        "form": form,
        "formset": formset,
        "role_forms": role_forms,
        "has_errors": has_errors,
    })


def _autofocus_first_error(form, role_forms) -> None:
    """Put the cursor in the first field with an error, in page order (works without JavaScript)."""
    for f in [form, *role_forms]:
        bad = next((name for name in f.fields if name in f.errors), None)
        if bad:
            form.fields["name"].widget.attrs.pop("autofocus", None)
            f.fields[bad].widget.attrs["autofocus"] = True
            return


@login_required
def model_profile_list(request):
    form = ModelProfileForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            profile = form.save()
            messages.success(request, f"Added the model profile “{profile.name}”.")
            return redirect("model_profile_list")
    profiles = ModelProfile.objects.usable_by(request.user).select_related("owner")
    return render(request, "teams/model_profiles.html", {"form": form, "profiles": profiles})


@login_required
def model_profile_edit(request, pk):
    """The owner (or staff) changes a profile; a paused session picks the change up on resume."""
    profile = get_object_or_404(ModelProfile, pk=pk)
    if profile.owner_id != request.user.pk and not request.user.is_staff:
        raise Http404("No such model profile")
    form = ModelProfileForm(request.POST or None, instance=profile, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the model profile “{profile.name}”. Paused sessions use it when resumed.")
        return redirect("model_profile_list")
    return render(request, "teams/model_profile_edit.html", {"form": form, "profile": profile})
