import json

from django import forms
from django.conf import settings

from collab.engine import scenarios
from collab.engine.protocols import PROTOCOLS
from collab.engine.topologies import TOPOLOGIES
from collab.teams.models import Team


class JSONObjectField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"})

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return {}
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(data, dict):
            raise forms.ValidationError('Give a JSON object, like {"rounds": 2}.')
        return data

    def prepare_value(self, value):
        return json.dumps(value) if isinstance(value, dict) else value


class SessionForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    title = forms.CharField(max_length=200, required=False, help_text="Empty: the team and protocol names")
    brief = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="The task the team works on")
    scenario = forms.ChoiceField(
        required=False, choices=[("", "None: a free collaboration")] + [(sc.key, sc.title) for sc in scenarios.all_scenarios()],
        help_text="A scenario's rules decide who acts; the protocol below is then not used")
    scenario_params = JSONObjectField(required=False, label="Scenario parameters (JSON)",
                                      help_text="Empty: the scenario's defaults (listed below)")
    strategy = forms.CharField(required=False, label="Scripted strategy",
                               help_text="Offline agents' strategy, e.g. sustainable, greedy or mixed for the fishery")
    protocol = forms.ChoiceField(choices=[(p.key, p.title) for p in PROTOCOLS.all() if p.key != "scenario"],
                                 initial="round_robin")
    protocol_params = JSONObjectField(required=False, label="Protocol parameters (JSON)",
                                      help_text="Empty: the protocol's defaults")
    topology = forms.ChoiceField(choices=[(t.key, t.title) for t in TOPOLOGIES.all()], initial="everyone")
    topology_params = JSONObjectField(required=False, label="Topology parameters (JSON)",
                                      help_text='e.g. {"hub": "planner"} for a star')
    provider = forms.ChoiceField(choices=[("scripted", "Offline scripted agents"), ("openai", "OpenAI-compatible server")])
    human_seats = forms.CharField(required=False, label="Seats you play",
                                  help_text="Role names, comma-separated; the others are agents")
    seat_timeout = forms.IntegerField(required=False, min_value=5, max_value=3600, label="Seat timeout (seconds)",
                                      help_text="Empty: wait for the human as long as it takes")
    max_turns = forms.IntegerField(min_value=1, max_value=1000, initial=12)
    token_budget = forms.IntegerField(min_value=1, required=False, help_text="Empty: no budget")
    seed = forms.IntegerField(initial=0)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(owner=user)
        self.fields["provider"].initial = "openai" if settings.LLM_CONFIGURED else "scripted"

    def clean(self):
        data = super().clean()
        if data.get("scenario"):
            data["protocol"] = "scenario"
            data["protocol_params"] = {"scenario": data["scenario"], "params": data.get("scenario_params") or {}}
            if data.get("strategy"):
                data["protocol_params"]["strategies"] = data["strategy"]
        return data

    def clean_human_seats(self):
        return [n.strip() for n in self.cleaned_data["human_seats"].split(",") if n.strip()]
