"""What the New session page offers: cards to pick from, the values a preset
fills in, and the team a pick stands for (an existing one, or a new one made
from a preset when the session is created)."""

from collab.engine import scenarios
from collab.engine.params import defaults_of
from collab.engine.protocols import PROTOCOLS
from collab.sessions import services
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
