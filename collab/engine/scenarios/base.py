"""The scenario interface: rules, state, actions and metrics of a research game.

The engine drives a scenario in steps:

    state = scenario.initial_state(scenario.params(overrides), role_names, seed)
    while (step := scenario.next_step(state)) is not None:
        if step["phase"] == "act":        # each actor submits a JSON action
            state, report = scenario.apply(state, {name: action, ...}, rng)
        elif step["phase"] == "talk":     # one actor, free text
            state = scenario.record_talk(state, step["actors"][0], text)
        else:                             # "reflect": one call per actor
            for name in step["actors"]:
                state = scenario.record_reflection(state, name, text)

Steps are dicts: {"phase": "act", "actors": [...], "simultaneous": bool,
"round": int}, {"phase": "talk", "actors": [name], "round": int} or
{"phase": "reflect", "actors": [...], "simultaneous": True, "round": int}.
A reflect step lists the actors that have not reflected yet, so the engine may
collect all reflections from the same state and record them one by one.
An empty utterance is a pass; when every speaker passes in a row the
discussion ends early. Offline, `scripted_action` fills act steps and
`scripted_talk` fills both talk and reflect steps (see `play_scripted`).

State is a plain JSON dict (lists, dicts, str, numbers, bools, None) so it can
be stored in the database and in events. `apply`, `record_talk`,
`record_reflection` never mutate their input: they return a new state.
Randomness comes only from the seed: `initial_state` derives what it needs
from it and `apply` uses the rng it is given (`step_rng(state)` makes a
reproducible one from the state alone).
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from collab.engine.schema import as_type, json_type, show_value, validate_json  # noqa: F401 - re-exported

REGISTRY: dict[str, type[Scenario]] = {}


def register(cls: type[Scenario]) -> type[Scenario]:
    if not cls.key:
        raise ValueError(f"{cls.__name__} has no key")
    if REGISTRY.get(cls.key, cls) is not cls:
        raise ValueError(f"scenario key {cls.key!r} is already registered by {REGISTRY[cls.key].__name__}")
    REGISTRY[cls.key] = cls
    return cls


# --- helpers shared by the scenarios ---------------------------------------------

def clone(state: dict) -> dict:
    return copy.deepcopy(state)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _param_value(scenario: str, name: str, value: Any, default: Any) -> Any:
    def bad(kind: str) -> ValueError:
        return ValueError(f"{scenario}: parameter '{name}' must be {kind}, got {show_value(value)}")

    # Values may arrive from a web form as strings, hence the parsing.
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            return value.strip().lower() in {"true", "1", "yes", "on"}
        raise bad("true or false")
    if isinstance(default, int):
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise bad("a whole number") from None
        ok, value = as_type(value, "integer")
        if not ok:
            raise bad("a whole number")
        return value
    if isinstance(default, float):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise bad("a number") from None
        ok, value = as_type(value, "number")
        if not ok:
            raise bad("a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("text")
        return value
    if isinstance(default, list | dict):
        kind = "a list" if isinstance(default, list) else "an object"
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad(kind) from None
        if not isinstance(value, type(default)):
            raise bad(kind)
        return copy.deepcopy(value)
    return value


class Scenario:
    """Base class; subclasses document their default action in their docstring."""

    key: str = ""
    title: str = ""
    summary: str = ""  # one line for the New session page
    paper: str = ""
    default_params: dict = {}
    param_help: dict[str, str] = {}
    params_schema: tuple = ()  # collab.engine.params.Param per parameter; help falls back to param_help
    default_roles: list[dict] = []
    strategies: list[str] = []
    min_roles: int = 1
    max_text_chars: int = 4000

    # --- parameters and setup

    def params(self, overrides: dict | None = None) -> dict:
        overrides = {} if overrides is None else overrides
        if not isinstance(overrides, dict):
            raise ValueError(f"{self.key}: parameters must be an object, got {show_value(overrides)}")
        unknown = sorted(set(overrides) - set(self.default_params))
        if unknown:
            raise ValueError(
                f"{self.key}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(self.default_params)}"
            )
        merged = copy.deepcopy(self.default_params)
        for name, value in overrides.items():
            merged[name] = _param_value(self.key, name, value, self.default_params[name])
        self.check_params(merged)
        return merged

    def check_params(self, p: dict) -> None:
        """Scenario-specific checks; raise ValueError with a clear message."""

    def _range(self, p: dict, name: str, low: float | None = None, high: float | None = None) -> None:
        value = p[name]
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"between {low} and {high}" if low is not None and high is not None else (
                f"at least {low}" if low is not None else f"at most {high}")
            raise ValueError(f"{self.key}: parameter '{name}' must be {span}, got {value}")

    def _choice(self, p: dict, name: str, options: list[str]) -> None:
        if p[name] not in options:
            raise ValueError(f"{self.key}: parameter '{name}' must be one of {', '.join(options)}, got {p[name]!r}")

    def _roles(self, role_names: list[str]) -> list[str]:
        names = list(role_names)
        if any(not isinstance(n, str) or not n.strip() for n in names):
            raise ValueError(f"{self.key}: role names must be non-empty strings")
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: role names must be unique")
        if len(names) < self.min_roles:
            raise ValueError(f"{self.key}: needs at least {self.min_roles} roles, got {len(names)}")
        return names

    def _base_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        return {
            "scenario": self.key,
            "params": params,
            "roles": role_names,
            "seed": seed,
            "step_index": 0,
            "stage": "",
            "end_reason": "",
        }

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        raise NotImplementedError

    def step_rng(self, state: dict, salt: str = "") -> random.Random:
        """A reproducible rng for the current step, derived from the state only."""
        return random.Random(f"{state['seed']}:{state['step_index']}:{salt}")

    # --- the loop

    def rules_text(self, state: dict) -> str:
        raise NotImplementedError

    def next_step(self, state: dict) -> dict | None:
        raise NotImplementedError

    def observation(self, state: dict, role_name: str) -> str:
        raise NotImplementedError

    def private_acts(self, state: dict) -> bool:
        """Whether the coming act step is private: each action is logged for its actor alone."""
        return False

    def action_schema(self, state: dict, role_name: str) -> dict:
        raise NotImplementedError

    def check_action(self, state: dict, role_name: str, action: dict) -> str | None:
        """Scenario-specific checks after the schema passed; return a reason or None."""
        return None

    def validate_action(self, state: dict, role_name: str, action: object) -> tuple[dict | None, str | None]:
        step = self.next_step(state)
        if step is None or step["phase"] != "act":
            return None, "no action is expected now"
        if role_name not in step["actors"]:
            return None, f"{role_name} is not expected to act now (waiting for {', '.join(step['actors'])})"
        clean, reason = validate_json(action, self.action_schema(state, role_name))
        if reason:
            return None, reason
        reason = self.check_action(state, role_name, clean)
        if reason:
            return None, reason
        return clean, None

    def default_action(self, state: dict, role_name: str) -> dict:
        raise NotImplementedError

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        raise NotImplementedError

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        """Text for the current talk or reflect step."""
        raise NotImplementedError

    def _expect(self, state: dict, phase: str, role_name: str | None = None) -> dict:
        step = self.next_step(state)
        if step is None:
            raise ValueError(f"{self.key}: the game is over ({self.end_reason(state)})")
        if step["phase"] != phase:
            raise ValueError(f"{self.key}: the current step is {step['phase']}, not {phase}")
        if role_name is not None and role_name not in step["actors"]:
            raise ValueError(f"{self.key}: {role_name} is not expected now (waiting for {', '.join(step['actors'])})")
        return step

    def apply(self, state: dict, actions: dict[str, dict], seed_rng: random.Random) -> tuple[dict, dict]:
        """Apply an act step. A missing or invalid action is replaced by the
        default action and the actor is listed under report["defaulted"]."""
        step = self._expect(state, "act")
        if not isinstance(actions, dict):
            raise ValueError(f"{self.key}: actions must be a dict of role name to action")
        clean: dict[str, dict] = {}
        defaulted = []
        for name in step["actors"]:
            action, _ = self.validate_action(state, name, actions[name]) if name in actions else (None, "missing")
            if action is None:
                action = self.default_action(state, name)
                defaulted.append(name)
            clean[name] = action
        new = clone(state)
        new["step_index"] += 1
        new, report = self.resolve(new, clean, seed_rng)
        report = {"phase": "act", "round": step.get("round"), "actions": clean, **report}
        if defaulted:
            report["defaulted"] = defaulted
        return new, report

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        """Apply validated actions to a private copy of the state (may mutate it)."""
        raise NotImplementedError

    def _text(self, text: object) -> str:
        return str(text or "").strip()[: self.max_text_chars]

    def record_talk(self, state: dict, role_name: str, text: str) -> dict:
        self._expect(state, "talk", role_name)
        new = clone(state)
        new["step_index"] += 1
        return self.on_talk(new, role_name, self._text(text))

    def record_reflection(self, state: dict, role_name: str, text: str) -> dict:
        self._expect(state, "reflect", role_name)
        new = clone(state)
        new["step_index"] += 1
        return self.on_reflect(new, role_name, self._text(text))

    def on_talk(self, state: dict, role_name: str, text: str) -> dict:
        raise NotImplementedError(f"{self.key} has no talk phase")

    def on_reflect(self, state: dict, role_name: str, text: str) -> dict:
        raise NotImplementedError(f"{self.key} has no reflect phase")

    # --- results

    def metrics(self, state: dict) -> dict:
        raise NotImplementedError

    def chart(self, state: dict) -> dict:
        raise NotImplementedError

    def end_reason(self, state: dict) -> str:
        """Why the game ended; "" while it is still running."""
        return state.get("end_reason", "")

    def _finish(self, state: dict, reason: str) -> None:
        state["stage"] = "over"
        state["end_reason"] = reason

    def describe(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "paper": self.paper,
            "default_params": copy.deepcopy(self.default_params),
            "param_help": dict(self.param_help),
            "default_roles": copy.deepcopy(self.default_roles),
            "strategies": list(self.strategies),
        }


def talk_transcript(state: dict, round_no: int | None = None, limit: int = 12) -> str:
    entries = [e for e in state.get("transcript", []) if round_no is None or e["round"] == round_no]
    if not entries:
        return "(nothing said yet)"
    return "\n".join(f"{e['role']}: {e['text'] or '(passes)'}" for e in entries[-limit:])


def passes_in_a_row(state: dict, round_no: int | None) -> int:
    """Empty utterances at the end of the transcript (within round_no unless None)."""
    count = 0
    for entry in reversed(state.get("transcript", [])):
        if (round_no is not None and entry["round"] != round_no) or entry["text"]:
            break
        count += 1
    return count


def play_scripted(
    scenario: Scenario,
    role_names: list[str],
    strategies: str | dict[str, str],
    seed: int = 0,
    params: dict | None = None,
    max_steps: int = 100_000,
) -> tuple[dict, list[dict]]:
    """Run a scenario to its end with scripted behaviour only (offline demos, tests).
    `strategies` is one strategy for everyone or a role -> strategy dict."""
    state = scenario.initial_state(scenario.params(params), role_names, seed)
    choose = random.Random(f"{seed}:scripted")
    reports: list[dict] = []

    def strategy_of(name: str) -> str:
        return strategies if isinstance(strategies, str) else strategies[name]

    for _ in range(max_steps):
        step = scenario.next_step(state)
        if step is None:
            return state, reports
        if step["phase"] == "act":
            actions = {n: scenario.scripted_action(state, n, strategy_of(n), choose) for n in step["actors"]}
            state, report = scenario.apply(state, actions, scenario.step_rng(state))
            reports.append(report)
        elif step["phase"] == "talk":
            name = step["actors"][0]
            state = scenario.record_talk(state, name, scenario.scripted_talk(state, name, strategy_of(name), choose))
        else:
            texts = {n: scenario.scripted_talk(state, n, strategy_of(n), choose) for n in step["actors"]}
            for name, text in texts.items():
                state = scenario.record_reflection(state, name, text)
    raise RuntimeError(f"{scenario.key}: no end after {max_steps} steps")
