"""An experiment's definition: a grid of conditions x seeds x repetitions.

A spec is a plain dict (from YAML, JSON or the form):

    title: Fishery rationing
    base:                      # what every condition shares (all optional but preset or team)
      preset: fishery_village  # or team: <name of one of the owner's teams>
      protocol: scenario       # default: the preset's
      protocol_params: {}      # merged over the preset's
      topology: everyone
      topology_params: {}
      model_profile: ""        # a model profile's name: every role uses it (default: the team's)
      params: {}               # scenario parameters, merged over the preset's
      strategies: reciprocal   # scripted strategies (scenario protocol)
      max_turns: 400
      provider: scripted       # scripted or openai
    grid:                      # each key is varied over its list; conditions are the cross product
      params.rationing: [stochastic, proportional]
      model_profile: [small, large]
    seeds: 10                  # 0..9, or an explicit list [3, 5, 8]
    repetitions: 1             # runs per condition and seed
    parallel: 20               # most runs at once

`clean_spec` checks all of it, including that every condition makes a valid
session, and raises SpecError listing every problem with where it is.
"""

from __future__ import annotations

import copy
import itertools
import json

import yaml

from collab.engine.protocols import PROTOCOLS
from collab.engine.registry import UnknownName
from collab.engine.topologies import TOPOLOGIES
from collab.teams.presets import PRESETS

BASE_KEYS = {"preset", "team", "protocol", "protocol_params", "topology", "topology_params", "model_profile",
             "params", "strategies", "max_turns", "provider"}
GRID_KEYS = {"preset", "team", "protocol", "topology", "model_profile", "strategies", "max_turns"}
TOP_KEYS = {"title", "base", "grid", "seeds", "repetitions", "parallel", "description"}
MAX_RUNS = 5000
MAX_SPEC_CHARS = 200_000


class SpecError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def parse(text: str) -> dict:
    """YAML or JSON text to a dict (JSON is YAML); a clear error otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(["the definition is empty"])
    if "\x00" in text:
        raise SpecError(["the definition contains a NUL byte"])
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError([f"the definition is {len(text):,} characters; at most {MAX_SPEC_CHARS:,} are allowed"])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError([f"not valid YAML or JSON{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(data, dict):
        raise SpecError([f"the definition must be a mapping (title, base, grid, seeds...), got {_kind(data)}"])
    return data


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def _seeds(value, problems: list[str]) -> list[int]:
    if isinstance(value, bool):
        problems.append("seeds: must be a whole number of seeds or a list of seeds")
        return []
    if isinstance(value, int):
        if not 1 <= value <= 1000:
            problems.append(f"seeds: must be from 1 to 1000, got {value}")
            return []
        return list(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        if len(set(value)) != len(value):
            problems.append("seeds: the list repeats a seed")
        if any(not 0 <= s < 2**62 for s in value):
            problems.append("seeds: every seed must be from 0 to 2^62")
        return list(value)
    problems.append(f"seeds: must be a whole number of seeds or a non-empty list of whole numbers, got {_kind(value)}")
    return []


def _count(spec: dict, key: str, default: int, low: int, high: int, problems: list[str]) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{key}: must be a whole number from {low} to {high}, got {value!r}")
        return default
    return value


def expand(base: dict, grid: dict) -> list[dict]:
    """The conditions: base overlaid with each combination of the grid's values."""
    keys = list(grid)
    conditions = []
    for values in itertools.product(*(grid[k] for k in keys)) if keys else [()]:
        condition = copy.deepcopy(base)
        varied = {}
        for key, value in zip(keys, values, strict=True):
            varied[key] = value
            if key.startswith("params."):
                condition.setdefault("params", {})[key.removeprefix("params.")] = value
            elif key.startswith("protocol_params."):
                condition.setdefault("protocol_params", {})[key.removeprefix("protocol_params.")] = value
            else:
                condition[key] = value
        condition["varied"] = varied
        condition["label"] = ", ".join(f"{k}={_show(v)}" for k, v in varied.items()) or "all runs"
        conditions.append(condition)
    return conditions


def _show(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def resolve(condition: dict) -> dict:
    """The session settings a condition stands for (preset defaults filled in)."""
    preset = PRESETS.get(condition.get("preset") or "")
    out = {
        "preset": preset.key if preset else "",
        "team": condition.get("team") or "",
        "protocol": condition.get("protocol") or (preset.protocol if preset else "round_robin"),
        "topology": condition.get("topology") or (preset.topology if preset else "everyone"),
        "topology_params": {**(preset.topology_params if preset else {}), **(condition.get("topology_params") or {})},
        "model_profile": condition.get("model_profile") or "",
        "max_turns": condition.get("max_turns") or (preset.max_turns if preset else 12),
        "provider": condition.get("provider") or "scripted",
        "brief": preset.brief if preset else "",
    }
    same_protocol = preset is not None and out["protocol"] == preset.protocol
    protocol_params = {**(preset.protocol_params if same_protocol else {}), **(condition.get("protocol_params") or {})}
    if out["protocol"] == "scenario":
        protocol_params = copy.deepcopy(protocol_params)
        protocol_params["params"] = {**protocol_params.get("params", {}), **(condition.get("params") or {})}
        if condition.get("strategies"):
            protocol_params["strategies"] = condition["strategies"]
    out["protocol_params"] = protocol_params
    return out


def clean_spec(data: dict, *, team_roles) -> dict:
    """Check a parsed spec; return it normalised with its conditions expanded.
    `team_roles(condition)` returns the role names the condition's team would
    have, or raises ValueError (unknown team or profile)."""
    problems: list[str] = []
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(TOP_KEYS))}")
    title = data.get("title", "")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        problems.append("title: required text of at most 200 characters")
    base = data.get("base") or {}
    grid = data.get("grid") or {}
    if not isinstance(base, dict):
        problems.append(f"base: must be a mapping, got {_kind(base)}")
        base = {}
    if not isinstance(grid, dict):
        problems.append(f"grid: must be a mapping of key to a list of values, got {_kind(grid)}")
        grid = {}
    for key in sorted(set(base) - BASE_KEYS):
        problems.append(f"base.{key}: unknown; known: {', '.join(sorted(BASE_KEYS))}")
    for key, values in grid.items():
        if not isinstance(key, str) or not (key in GRID_KEYS or key.startswith(("params.", "protocol_params."))):
            problems.append(f"grid.{key}: cannot be varied; vary {', '.join(sorted(GRID_KEYS))}, params.NAME "
                            "or protocol_params.NAME")
        elif not isinstance(values, list) or not values:
            problems.append(f"grid.{key}: must be a non-empty list of values")
        elif len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            problems.append(f"grid.{key}: a value is listed twice")
    seeds = _seeds(data.get("seeds", 1), problems)
    repetitions = _count(data, "repetitions", 1, 1, 100, problems)
    parallel = _count(data, "parallel", 20, 1, 500, problems)
    if problems:
        raise SpecError(problems)
    conditions = expand(base, grid)
    if len(conditions) * len(seeds) * repetitions > MAX_RUNS:
        raise SpecError([f"{len(conditions)} conditions x {len(seeds)} seeds x {repetitions} repetitions is "
                         f"{len(conditions) * len(seeds) * repetitions:,} runs; at most {MAX_RUNS:,}"])
    for i, condition in enumerate(conditions, 1):
        where = f"condition {i} ({condition['label']})"
        if not condition.get("preset") and not condition.get("team"):
            problems.append(f"{where}: name a preset or a team")
            continue
        if condition.get("preset") and condition["preset"] not in PRESETS:
            problems.append(f"{where}: unknown preset {condition['preset']!r}; choose one of: "
                            + ", ".join(sorted(PRESETS)))
            continue
        if condition.get("provider", "scripted") not in {"scripted", "openai"}:
            problems.append(f"{where}: provider must be scripted or openai")
            continue
        settings = resolve(condition)
        try:
            names = team_roles(condition)
            protocol, topology = PROTOCOLS.get(settings["protocol"]), TOPOLOGIES.get(settings["topology"])
            protocol.validate_params(settings["protocol_params"], names)
            topology.validate_params(settings["topology_params"], names)
        except (UnknownName, ValueError, TypeError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if not isinstance(settings["max_turns"], int) or not 1 <= settings["max_turns"] <= 1000:
            problems.append(f"{where}: max_turns must be from 1 to 1000")
    if problems:
        raise SpecError(problems)
    return {"title": title.strip(), "description": str(data.get("description") or ""), "base": base,
            "grid": grid, "seeds": seeds, "repetitions": repetitions, "parallel": parallel,
            "conditions": conditions}
