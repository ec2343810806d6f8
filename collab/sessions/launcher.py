"""What the New session page offers: cards to pick from, the values a preset
fills in, and the team a pick stands for (an existing one, or a new one made
from a preset when the session is created)."""

from collab.engine import scenarios
from collab.engine.params import defaults_of
from collab.engine.protocols import PROTOCOLS
from collab.engine.topologies import TOPOLOGIES
from collab.sessions import services
from collab.sessions.forms import protocols
from collab.sessions.models import Session
from collab.teams.models import Team
from collab.teams.presets import PRESETS, Preset
from collab.teams.services import team_create_from_preset


def initial_from_preset(preset: Preset) -> dict:
    """The form's initial values for a preset: its protocol or scenario, topology and their parameters."""
    initial = {"brief": preset.brief, "max_turns": preset.max_turns, "topology": preset.topology,
               "topology_params": dict(preset.topology_params)}
    initial.update({f"topology-{preset.topology}-{k}": v for k, v in preset.topology_params.items()})
    if preset.protocol == "scenario":
        sc = scenarios.get(preset.scenario)
        initial.update(scenario=preset.scenario, scenario_params={**defaults_of(sc), **preset.scenario_params})
        initial.update({f"scenario-{preset.scenario}-{k}": v for k, v in preset.scenario_params.items()})
        strategies = preset.protocol_params.get("strategies")
        if isinstance(strategies, str):
            initial[f"scenario-{preset.scenario}-strategy"] = strategies
    else:
        protocol = PROTOCOLS.get(preset.protocol)
        initial.update(protocol=preset.protocol, scenario="",
                       protocol_params={**defaults_of(protocol), **preset.protocol_params})
        initial.update({f"protocol-{preset.protocol}-{k}": v for k, v in preset.protocol_params.items()})
    return initial


def initial_for(user, preset_key: str, team_id: str) -> tuple[dict, Preset | None, str]:
    """The form's start from the address (?preset=, ?team=): initial values, the preset they
    come from, and an error to show when the team is not one of the user's."""
    initial, error = {}, ""
    preset = PRESETS.get(preset_key)
    if team_id:
        known = team_id.isdigit() and len(team_id) < 10  # anything longer is no primary key, on any database
        team = Team.objects.filter(owner=user, pk=int(team_id)).first() if known else None
        if team is None:
            error = f"You have no team {team_id[:40]!r}: pick one below."
        else:
            initial["team"] = str(team.pk)
            preset = PRESETS.get(team.preset)
    if preset:
        initial.update(initial_from_preset(preset))
        if "team" not in initial:
            own = Team.objects.filter(owner=user, preset=preset.key).order_by("-pk").first()
            initial["team"] = str(own.pk) if own else f"preset:{preset.key}"
    if "team" not in initial:
        first = Team.objects.filter(owner=user).order_by("pk").first()
        if first:
            initial["team"] = str(first.pk)
    initial.setdefault("protocol_params", defaults_of(PROTOCOLS.get("round_robin")))
    return initial, preset, error


def cards_for(form) -> dict:
    """The cards of the page, each group's marked as the form's value says."""
    team = str(form["team"].value() or "")
    new_from = PRESETS.get(team.removeprefix("preset:")) if team.startswith("preset:") else None
    return {
        "team_cards": team_cards(form.teams, new_from),
        "protocol_cards": cards("protocol", form, [(p.key, p.title, p.description) for p in protocols()]),
        "scenario_cards": cards("scenario", form, [("", "None", "A free collaboration: the protocol decides who speaks.")]
                                + [(sc.key, sc.title, sc.summary) for sc in scenarios.all_scenarios()]),
        "topology_cards": cards("topology", form, [(t.key, t.title, t.description) for t in TOPOLOGIES.all()]),
    }


def team_for(user, value: str) -> Team:
    """The team a pick names: one of the user's, or a new one from a preset."""
    if value.startswith("preset:"):
        key = value.removeprefix("preset:")
        if key not in PRESETS:
            raise ValueError(f"no preset named {key!r}")
        return team_create_from_preset(preset_key=key, owner=user)
    return Team.objects.get(owner=user, pk=int(value))


def team_cards(teams: list[Team], new_from: Preset | None) -> list[dict]:
    cards = [{"value": str(t.pk), "title": t.name,
              "line": ", ".join(r.name for r in t.roles.all()) or "no roles yet",
              "models": sorted({r.model_profile.name for r in t.roles.all() if r.model_profile})} for t in teams]
    if new_from:
        cards.insert(0, {"value": f"preset:{new_from.key}", "title": f"New: {new_from.title}",
                         "line": ", ".join(r["name"] for r in new_from.roles), "models": [],
                         "note": "made from the preset when you create the session"})
    return cards


def cards(group: str, form, options: list[tuple[str, str, str]]) -> list[dict]:
    """Cards for one radio group, each with the form fields of its parameters."""
    picked = str(form[group].value() or "")
    return [{"value": key, "title": title, "line": line, "checked": key == picked,
             "fields": form.fieldset(group, key) if key else []} for key, title, line in options]


def start_preset(*, user, preset: Preset, provider: str | None = None, title: str = "") -> Session:
    """One click: the user's team of the preset (made on first use), started at once."""
    team = Team.objects.filter(owner=user, preset=preset.key).order_by("-pk").first() or team_create_from_preset(
        preset_key=preset.key, owner=user)
    session = services.session_create(
        owner=user, team=team, brief=preset.brief, protocol=preset.protocol, protocol_params=preset.protocol_params,
        topology=preset.topology, topology_params=preset.topology_params, provider=provider,
        max_turns=preset.max_turns, title=title)
    services.session_start(session=session, user=user)
    return session
