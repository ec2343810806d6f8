import json

from django import forms

from collab.teams.presets import PRESETS

EXAMPLE = """title: Fishery rationing
base:
  preset: fishery_village
  params: {months: 6}
grid:
  params.rationing: [stochastic, proportional]
seeds: 5
"""


class ExperimentForm(forms.Form):
    """Either the quick grid (a preset, one parameter varied, seeds) or a full
    YAML/JSON definition, typed or uploaded; a definition wins."""

    title = forms.CharField(max_length=200, required=False)
    preset = forms.ChoiceField(required=False, choices=[("", "—")] + [
        (p.key, p.title) for p in sorted(PRESETS.values(), key=lambda p: p.title)])
    vary = forms.CharField(required=False, max_length=100, label="Vary parameter",
                           help_text="A scenario parameter, e.g. rationing (or protocol_params.rounds).")
    values = forms.CharField(required=False, max_length=1000, label="Values",
                             help_text="Comma-separated, e.g. stochastic, proportional.")
    seeds = forms.IntegerField(min_value=1, max_value=1000, initial=5)
    repetitions = forms.IntegerField(min_value=1, max_value=100, initial=1)
    definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false",
                                 "placeholder": EXAMPLE}), label="Or a full definition (YAML or JSON)")
    file = forms.FileField(required=False, label="Or upload a definition file")

    MAX_FILE = 200_000

    def definition_text(self) -> str | None:
        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size > self.MAX_FILE:
                raise forms.ValidationError(f"The file is {upload.size:,} bytes; at most {self.MAX_FILE:,}.")
            try:
                return upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        text = self.cleaned_data.get("definition") or ""
        return text if text.strip() else None

    def quick_spec(self) -> dict:
        data = self.cleaned_data
        if not data.get("preset"):
            raise forms.ValidationError("Choose a preset, or write a definition.")
        grid = {}
        if data.get("vary"):
            values = [_value(v) for v in data.get("values", "").split(",") if v.strip()]
            if not values:
                raise forms.ValidationError("List the values to try for the varied parameter.")
            key = data["vary"].strip()
            grid[key if key.startswith(("params.", "protocol_params.")) or key in {
                "protocol", "topology", "model_profile", "strategies"} else f"params.{key}"] = values
        title = data.get("title") or f"{PRESETS[data['preset']].title}" + (f": {data['vary']}" if grid else "")
        return {"title": title, "base": {"preset": data["preset"]}, "grid": grid, "seeds": data["seeds"],
                "repetitions": data["repetitions"]}


def _value(raw: str):
    raw = raw.strip()
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class ForkForm(forms.Form):
    at_seq = forms.IntegerField(min_value=1, label="Fork after event",
                                help_text="The branch starts from a copy of the log up to this event (an event "
                                          "inside a turn takes its whole turn).")
    model_profile = forms.ModelChoiceField(queryset=None, required=False, label="Every agent on model profile",
                                           empty_label="Keep the origin's models")
    protocol_params = forms.CharField(required=False, max_length=20_000, label="Protocol parameters to change (JSON)",
                                      widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false",
                                                                   "placeholder": '{"params": {"reward": "mac_spgg"}}'}))
    seat_role = forms.ChoiceField(required=False, label="Take a seat yourself")
    inject = forms.CharField(required=False, max_length=4000, label="Inject a message at the fork point",
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, session, user, **kwargs):
        from collab.teams.models import ModelProfile

        super().__init__(*args, **kwargs)
        self.fields["model_profile"].queryset = ModelProfile.objects.usable_by(user)
        self.fields["seat_role"].choices = [("", "No, agents keep every seat")] + [
            (name, name) for name in session.role_names()]
        self.fields["at_seq"].max_value = session.last_seq
        self.fields["at_seq"].widget.attrs["max"] = session.last_seq
        self.initial.setdefault("at_seq", session.last_seq)

    def clean_protocol_params(self):
        raw = (self.cleaned_data.get("protocol_params") or "").strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object, e.g. {\"rounds\": 3}.")
        return value
