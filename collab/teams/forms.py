"""Forms of the team builder: a team, its roles (an inline formset) and model profiles."""

import re

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME, ORDERING_FIELD_NAME

from collab.teams.models import ModelProfile, Role, Team, validate_server_url

HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
TEMPERATURE_HELP = "0 (focused) to 2 (creative)."


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "description"]
        error_messages = {"name": {"required": "Give the team a name."}}
        widgets = {
            "name": forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {"description": "One or two sentences: what this team is for."}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Team.objects.filter(owner=self.owner, name=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                "You already have a team called “%(name)s”. Pick another name.",
                code="duplicate_team", params={"name": name})
        return name


class RoleForm(forms.ModelForm):
    temperature = forms.FloatField(
        required=False, min_value=0, max_value=2,
        help_text="0 to 2. Empty: the profile's.",
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    color = forms.CharField(
        label="Colour", initial=Role._meta.get_field("color").default, help_text="For its messages.",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    strength = forms.IntegerField(
        min_value=1, max_value=100, initial=1,
        help_text="Relays: strongest leads.",
    )

    class Meta:
        model = Role
        fields = ["name", "avatar", "color", "strength", "temperature", "model_profile", "expertise",
                  "persona", "goals"]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "avatar": forms.TextInput(attrs={"size": 8, "autocomplete": "off"}),
            "persona": forms.Textarea(attrs={"rows": 3}),
            "goals": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"model_profile": "Model profile"}
        error_messages = {"name": {"required": "Give the role a name."}}
        help_texts = {
            "name": "Unique within the team; protocols refer to roles by this name.",
            "avatar": "Emoji or 1–2 letters. Empty: initials.",
            "expertise": "A few words, e.g. “testing” or “Python”.",
            "persona": "System prompt: who this role is. Markdown is fine.",
            "goals": "What this role tries to achieve.",
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        profile = self.fields["model_profile"]
        # Only the user's own profiles and the published ones (and the one a role already has).
        usable = ModelProfile.objects.usable_by(user) if user is not None else ModelProfile.objects.none()
        if self.instance.model_profile_id:
            usable = usable | ModelProfile.objects.filter(pk=self.instance.model_profile_id)
        profile.queryset = usable.distinct()
        profile.empty_label = "Session default"
        profile.help_text = "How this role reaches a model. Session default: the session's provider."

    def has_changed(self):
        # A new, untouched role with only a position (the reorder buttons number every form) is still empty.
        return any(name != ORDERING_FIELD_NAME for name in self.changed_data)

    def clean_avatar(self):
        return self.cleaned_data["avatar"].strip()

    def clean_color(self):
        color = (self.cleaned_data.get("color") or "").strip()
        if not HEX_COLOR.fullmatch(color):
            raise forms.ValidationError("Give the colour as #rrggbb, like #4f46e5.", code="invalid_color")
        return color.lower()

    def validate_unique(self):
        # Role names are checked across the whole formset (RoleFormSet.clean): the database holds the
        # names from before this edit, which a rename or a removal in the same submission may free.
        pass


class BaseRoleFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        order = form.fields[ORDERING_FIELD_NAME]
        if index is not None and order.initial is None:
            # Django numbers only the saved roles; an empty one shown on the page gets its place too,
            # else it has no position and sorts after the roles added below it.
            order.initial = index + 1
        order.label = "Position"
        order.help_text = "Smaller first; empty: at the end."
        order.widget.attrs.update(min="1", inputmode="numeric")
        form.fields[DELETION_FIELD_NAME].label = "Remove this role"

    def kept_forms(self):
        """The forms that will be saved: not removed, not an untouched new one."""
        initial = self.initial_form_count()
        return [
            form for i, form in enumerate(self.forms)
            if not (i >= initial and not form.has_changed()) and not self._should_delete_form(form)
        ]

    def clean(self):
        stale = [form for form in self.initial_forms if form.instance.pk is None]
        if stale:
            # An id that is not one of this team's roles: a role deleted in another tab, or a forged form.
            raise forms.ValidationError(
                "Some roles changed since this page was loaded (in another tab?). "
                "Copy what you need, reload the page and try again.", code="stale")
        kept = self.kept_forms()
        seen = {}
        for form in kept:
            name = (form.cleaned_data.get("name") or "").strip() if hasattr(form, "cleaned_data") else ""
            if not name:
                continue
            key = name.casefold()
            if key in seen:
                form.add_error("name", forms.ValidationError(
                    "Another role in this team is already called “%(name)s”. Role names must be unique.",
                    code="duplicate_role", params={"name": seen[key]}))
            else:
                seen[key] = name
        if not kept:
            raise forms.ValidationError("A team needs at least one role. Add a role, or keep one you removed.",
                                        code="no_roles")

    def validate_unique(self):
        pass  # see RoleForm.validate_unique


RoleFormSet = forms.inlineformset_factory(
    Team, Role, form=RoleForm, formset=BaseRoleFormSet,
    extra=0, can_order=True, can_delete=True, can_delete_extra=True,
)


def role_forms_in_order(formset) -> list:
    """The formset's forms in the order the user gave them (POSITION, then as sent)."""
    def key(indexed):
        i, form = indexed
        raw = form[ORDERING_FIELD_NAME].value() if ORDERING_FIELD_NAME in form.fields else None
        try:
            return (0, int(raw), i)
        except (TypeError, ValueError):
            return (1, 0, i)
    return [form for _, form in sorted(enumerate(formset.forms), key=key)]


CUSTOM_SERVER_KEY = (
    "Only staff can send one of the server's keys to a server of their choosing: "
    "leave the key variable empty for a server that needs no key, or the base URL empty for the configured one."
)


class ModelProfileForm(forms.ModelForm):
    base_url = forms.CharField(
        required=False, label="Base URL", max_length=300, validators=[validate_server_url],
        help_text="With http:// or https://, usually ending in /v1; a Docker service name works "
                  "(http://ollama:11434/v1). Empty: OPENAI_BASE_URL, else api.openai.com.",
        widget=forms.URLInput(attrs={"placeholder": "http://localhost:11434/v1", "spellcheck": "false"}),
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.7, help_text=TEMPERATURE_HELP,
                                   widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}))
    max_tokens = forms.IntegerField(min_value=1, max_value=1_000_000, initial=512,
                                    help_text="Longest reply, in tokens.")
    timeout_seconds = forms.FloatField(min_value=1, max_value=3600, initial=60, label="Timeout (seconds)",
                                       help_text="How long to wait for one reply.")
    context_window = forms.IntegerField(
        required=False,
        min_value=0, max_value=10_000_000, initial=0, label="Context window (tokens)",
        help_text="The server's context size (llama.cpp -c, Ollama num_ctx). Prompts are cut to fit. "
                  "0: COLLAB_LLM_CONTEXT_WINDOW.")
    max_concurrency = forms.IntegerField(
        required=False,
        min_value=0, max_value=1000, initial=0, label="Concurrent requests",
        help_text="How many calls the server takes at once: 1 for a one-slot llama.cpp server. 0: no limit.")
    cost_per_1k_prompt = forms.DecimalField(
        required=False,min_value=0, max_value=1000, decimal_places=6, initial=0,
                                            label="Price per 1k prompt tokens ($)")
    cost_per_1k_completion = forms.DecimalField(
        required=False,min_value=0, max_value=1000, decimal_places=6, initial=0,
                                                label="Price per 1k completion tokens ($)")

    class Meta:
        model = ModelProfile
        fields = ["name", "provider", "base_url", "model", "api_key_env", "temperature", "max_tokens",
                  "timeout_seconds", "context_window", "max_concurrency", "structured", "cost_per_1k_prompt",
                  "cost_per_1k_completion", "published"]
        labels = {"api_key_env": "API key environment variable", "structured": "Structured output",
                  "published": "Published: every user may see and use it"}
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "off"}),
            "model": forms.TextInput(attrs={"placeholder": "gpt-4o-mini", "spellcheck": "false"}),
            "api_key_env": forms.TextInput(attrs={
                "autocomplete": "off", "spellcheck": "false", "placeholder": "OPENAI_API_KEY",
                "pattern": "[A-Z_][A-Z0-9_]*"}),
        }
        help_texts = {
            "model": "The model name sent to the server.",
            "api_key_env": (
                "The NAME of the server's environment variable that holds the key, like OPENAI_API_KEY. "
                "Never paste the key itself: raw keys are never stored in collab or shown on any page."
            ),
            "structured": "How a reply's JSON schema reaches the server; a server that refuses it gets the next "
                          "way down automatically.",
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["structured"].required = False
        if not getattr(user, "is_staff", False):
            del self.fields["published"]  # only staff share profiles with everybody

    # Optional on the form: empty keeps the model's default.
    def _clean_optional(self, name):
        value = self.cleaned_data.get(name)
        return ModelProfile._meta.get_field(name).default if value in (None, "") else value

    def clean_context_window(self):
        return self._clean_optional("context_window")

    def clean_max_concurrency(self):
        return self._clean_optional("max_concurrency")

    def clean_structured(self):
        return self._clean_optional("structured")

    def clean_cost_per_1k_prompt(self):
        return self._clean_optional("cost_per_1k_prompt")

    def clean_cost_per_1k_completion(self):
        return self._clean_optional("cost_per_1k_completion")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        owner = self.instance.owner if self.instance.pk else self.user
        taken = ModelProfile.objects.filter(owner=owner, name=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("You already have a model profile called “%(name)s”. Pick another name.",
                                        code="duplicate_profile", params={"name": name})
        return name

    def clean(self):
        data = super().clean()
        if data.get("base_url") and data.get("api_key_env") and not getattr(self.user, "is_staff", False):
            # The server's key would go to a server of this user's choosing.
            self.add_error("api_key_env", CUSTOM_SERVER_KEY)
        return data

    def save(self, commit=True):
        profile = super().save(commit=False)
        if profile.owner_id is None:
            profile.owner = self.user
        if commit:
            profile.save()
        return profile

    def _post_clean(self):
        super()._post_clean()
        if "api_key_env" in self._errors and self.is_bound:
            # Whatever was typed may be a real key: never send it back in the page.
            data = self.data.copy()
            data[self.add_prefix("api_key_env")] = ""
            self.data = data
