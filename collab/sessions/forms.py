"""The New session form. Protocols, scenarios and topologies are picked from
cards; each one's parameters are real form fields built from its
`params_schema` (collab/engine/params.py), named "<group>-<key>-<param>". The
"advanced JSON" toggle reads the JSON boxes instead. Every check ends as an
error on the field it is about, never as a 500."""

import json
import re

from django import forms
from django.conf import settings

from collab.engine import scenarios
from collab.engine.params import Param, defaults_of
from collab.engine.protocols import PROTOCOLS
from collab.engine.topologies import TOPOLOGIES
from collab.teams.models import Team

MAX_JSON_CHARS = 100_000
MAX_JSON_DEPTH = 20
MAX_SEED = 2**63 - 1  # the seed column is a signed 64-bit integer
MAX_TOKEN_BUDGET = 2_000_000_000  # fits the budget column on every database
KIND_EMPTY = {"role": "", "text": "", "longtext": "", "list": [], "json": {}, "bool": False}


def nesting_depth(value) -> int:
    """How deeply lists and objects nest (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(text: str, expected: type = dict):
    """JSON text -> a value of the expected type, or a ValidationError that says what is wrong."""
    text = (text or "").strip()
    if len(text) > MAX_JSON_CHARS:
        raise forms.ValidationError(f"At most {MAX_JSON_CHARS:,} characters of JSON (got {len(text):,}).")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise forms.ValidationError(f"Nested too deeply: at most {MAX_JSON_DEPTH} levels.") from None
    if nesting_depth(data) > MAX_JSON_DEPTH:
        raise forms.ValidationError(f"Nested too deeply: at most {MAX_JSON_DEPTH} levels.")
    if not isinstance(data, expected):
        raise forms.ValidationError('Give a JSON object, like {"rounds": 2}.' if expected is dict
                                    else 'Give a JSON list, like ["a", "b"].')
    return data


class JSONObjectField(forms.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}))
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = (value or "").strip()
        return parse_json(value) if value else {}

    def prepare_value(self, value):
        return json.dumps(value, indent=2) if isinstance(value, dict) else value


class ParamJSONField(forms.CharField):
    """A list or object parameter typed as JSON (a rubric, phases, a graph)."""

    def __init__(self, *args, expected: type, **kwargs):
        self.expected = expected
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = (value or "").strip()
        return parse_json(value, self.expected) if value else None

    def prepare_value(self, value):
        return value if isinstance(value, str) else json.dumps(value, indent=2)


class CommaListField(forms.CharField):
    def to_python(self, value):
        return [part.strip() for part in (value or "").split(",") if part.strip()]

    def prepare_value(self, value):
        return ", ".join(map(str, value)) if isinstance(value, list) else value


def param_field(param: Param, default, help_text: str) -> forms.Field:
    common = {"required": False, "label": param.title, "help_text": help_text, "initial": default}
    if param.kind == "int":
        return forms.IntegerField(min_value=param.min, max_value=param.max, **common)
    if param.kind == "float":
        return forms.FloatField(min_value=param.min, max_value=param.max,
                                widget=forms.NumberInput(attrs={"step": param.step or "any"}), **common)
    if param.kind == "bool":
        return forms.BooleanField(**common)
    if param.kind == "choice":
        return forms.ChoiceField(choices=[(c, c) for c in param.choices], **common)
    if param.kind == "longtext":
        return forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}), **common)
    if param.kind == "list":
        return CommaListField(max_length=2_000, **common)
    if param.kind == "json":
        return ParamJSONField(expected=list if isinstance(default, list) else dict, max_length=MAX_JSON_CHARS,
                              widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
                              **common)
    return forms.CharField(max_length=200, **common)  # text and role names; the plug-in checks the role


def plugin_params(group: str, key: str, plugin) -> list[tuple[str, Param, object]]:
    """(form field name, param, default) for each parameter of a plug-in."""
    defaults = defaults_of(plugin)
    return [(f"{group}-{key}-{p.name}", p, defaults.get(p.name, KIND_EMPTY.get(p.kind)))
            for p in plugin.params_schema]


def protocols():
    return [p for p in PROTOCOLS.all() if p.key != "scenario"]


class SessionForm(forms.Form):
    team = forms.ChoiceField(error_messages={"required": "Pick a team, or a preset to make one from."})
    title = forms.CharField(max_length=200, required=False, help_text="Empty: the team's name and the date")
    brief = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=20_000,
                            label="Task", help_text="What the team works on; every agent reads it")
    protocol = forms.ChoiceField(choices=[(p.key, p.title) for p in protocols()], initial="round_robin",
                                 help_text="Who speaks when, for a free collaboration")
    scenario = forms.ChoiceField(
        required=False, choices=[("", "None: a free collaboration")] + [(sc.key, sc.title) for sc in scenarios.all_scenarios()],
        help_text="A research game whose rules decide who acts; the protocol is then not used")
    topology = forms.ChoiceField(choices=[(t.key, t.title) for t in TOPOLOGIES.all()], initial="everyone")
    advanced = forms.BooleanField(required=False, label="Edit the parameters as JSON")
    protocol_params = JSONObjectField(required=False, label="Protocol parameters (JSON)")
    scenario_params = JSONObjectField(required=False, label="Scenario parameters (JSON)")
    topology_params = JSONObjectField(required=False, label="Topology parameters (JSON)")
    provider = forms.ChoiceField(choices=[("scripted", "Offline scripted agents"), ("openai", "OpenAI-compatible server")],
                                 label="Agents")
    human_seats = forms.CharField(required=False, max_length=2_000, label="Seats you play",
                                  help_text="Role names, comma-separated; the others are agents")
    seat_timeout = forms.IntegerField(required=False, min_value=5, max_value=3600, label="Seat timeout (seconds)",
                                      help_text="Empty: wait for the human as long as it takes")
    max_turns = forms.IntegerField(min_value=1, max_value=1000, initial=12, label="Max turns")
    token_budget = forms.IntegerField(min_value=1, max_value=MAX_TOKEN_BUDGET, required=False,
                                      help_text="Empty: no budget")
    seed = forms.IntegerField(min_value=0, max_value=MAX_SEED, initial=0,
                              help_text="The same seed replays the same scripted run")

    def __init__(self, *args, user, presets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = list(Team.objects.filter(owner=user).prefetch_related("roles__model_profile"))
        self.fields["team"].choices = [(str(t.pk), t.name) for t in self.teams] + [
            (f"preset:{p.key}", f"A new team: {p.title}") for p in presets]
        self.fields["provider"].initial = "openai" if settings.LLM_CONFIGURED else "scripted"
        self.param_groups: dict[tuple[str, str], list[str]] = {}
        plugins = ([("protocol", p.key, p) for p in protocols()]
                   + [("scenario", sc.key, sc) for sc in scenarios.all_scenarios()]
                   + [("topology", t.key, t) for t in TOPOLOGIES.all()])
        for group, key, plugin in plugins:
            names = []
            for name, param, default in plugin_params(group, key, plugin):
                help_text = param.help or getattr(plugin, "param_help", {}).get(param.name, "")
                self.fields[name] = param_field(param, default, help_text)
                self.fields[name].widget.attrs.update({"data-param": param.name, "data-kind": param.kind})
                names.append(name)
            if group == "scenario" and plugin.strategies:
                name = f"scenario-{key}-strategy"
                self.fields[name] = forms.ChoiceField(
                    required=False, choices=[(s, s) for s in plugin.strategies], initial=plugin.strategies[0],
                    label="Scripted strategy", help_text="How the offline agents play (not a scenario parameter)")
                names.append(name)
            self.param_groups[(group, key)] = names

    def fieldset(self, group: str, key: str) -> list:
        return [self[name] for name in self.param_groups.get((group, key), [])]

    # --- cleaning -------------------------------------------------------------

    def clean_human_seats(self):
        return [n.strip() for n in self.cleaned_data["human_seats"].split(",") if n.strip()]

    def clean(self):
        data = super().clean()
        scenario, advanced = data.get("scenario"), data.get("advanced")
        self._drop_errors_of_unused_fields(data)
        for group, key in (("protocol", data.get("protocol")), ("scenario", scenario), ("topology", data.get("topology"))):
            if key and not advanced:
                data[f"{group}_params"] = self._from_fields(group, key, data)
        if scenario:
            strategy = data.get(f"scenario-{scenario}-strategy", "")
            data["protocol"] = "scenario"
            data["protocol_params"] = {"scenario": scenario, "params": data.get("scenario_params") or {}}
            if strategy:
                data["protocol_params"]["strategies"] = strategy
        return data

    def _drop_errors_of_unused_fields(self, data: dict) -> None:
        """Only the picked plug-ins' fields count (hidden ones may hold anything), and
        either their fields or the JSON boxes, as the advanced toggle says."""
        picked = {("protocol", data.get("protocol")), ("scenario", data.get("scenario")),
                  ("topology", data.get("topology"))}
        unused = {name for group, names in self.param_groups.items() for name in names
                  if group not in picked or (data.get("advanced") and not name.endswith("-strategy"))}
        if not data.get("advanced"):
            unused |= {"protocol_params", "scenario_params", "topology_params"}
        for name in unused & set(self._errors):
            del self._errors[name]

    def _from_fields(self, group: str, key: str, data: dict) -> dict:
        params = {}
        for name in self.param_groups.get((group, key), []):
            value = data.get(name)
            if name.endswith("-strategy") or value is None:
                continue  # an empty number: the plug-in's default
            params[name.removeprefix(f"{group}-{key}-")] = value
        return params

    def add_plugin_error(self, message: str) -> None:
        """An engine's ValueError, shown on the field it names (else on the plug-in's cards)."""
        data = self.cleaned_data
        scenario = data.get("scenario")
        groups = [("scenario", scenario)] if scenario else [("protocol", data.get("protocol"))]
        groups.append(("topology", data.get("topology")))
        json_box = {"scenario": "scenario_params", "protocol": "protocol_params", "topology": "topology_params"}
        named = []  # (where the message names it, group, field) for each parameter it names
        for group, key in groups:
            for name in self.param_groups.get((group, key), []):
                found = re.search(rf"(?<![A-Za-z_]){re.escape(name.removeprefix(f'{group}-{key}-'))}(?![A-Za-z_])",
                                  message)
                if found:
                    named.append((found.start(), group, name))
        if named:
            _, group, name = min(named)
            self.add_error(json_box[group] if data.get("advanced") else name, message)
            return
        if "no role named" in message:
            self.add_error("human_seats", message)
            return
        self.add_error(json_box[groups[0][0]] if data.get("advanced") else groups[0][0], message)
