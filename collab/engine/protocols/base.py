"""The protocol interface: who acts next, from the session's state.

A protocol keeps its small state in `ctx.pstate` (saved with each committed
turn, in the same transaction as the turn's events). `next_turn` returns the
Turn to run or None when the protocol has ended; `after_turn` folds the
turn's outputs into the state and returns any extra events to log.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Turn:
    actors: list[str]
    purpose: str = "message"
    instruction: str = ""
    # JSON schema of a structured reply; None means free text.
    schema: dict | None = None
    phase: str = ""
    # Per-actor detail for turns driven by a scenario: each actor's own
    # schema, private observation, extra check of its action, and scripted reply.
    schemas: dict[str, dict] = field(default_factory=dict)
    observations: dict[str, str] = field(default_factory=dict)
    check: Callable[[str, dict], tuple[dict | None, str | None]] | None = None
    scripted: dict[str, str] = field(default_factory=dict)

    def schema_for(self, actor: str) -> dict | None:
        return self.schemas.get(actor, self.schema)


@dataclass
class Output:
    text: str = ""
    data: dict | None = None
    interrupted: bool = False
    defaulted: bool = False


@dataclass
class EventSpec:
    kind: str
    actor: str = "system"
    payload: dict = field(default_factory=dict)
    audience: list[str] | None = None


@dataclass
class Ctx:
    roles: list[dict]
    params: dict
    pstate: dict
    turn_index: int
    plan: dict
    seed: int = 0

    @property
    def names(self) -> list[str]:
        return [r["name"] for r in self.roles]

    def rng(self) -> random.Random:
        return random.Random(f"{self.seed}:{self.turn_index}")


class Protocol:
    key = ""
    title = ""
    description = ""
    default_params: dict = {}
    params_schema: tuple = ()  # collab.engine.params.Param per parameter, for the New session form
    ended_by = "protocol"

    def validate_params(self, params: dict, roles: list[str]) -> dict:
        merged = {**self.default_params, **(params or {})}
        return merged

    def init_state(self, params: dict, roles: list[str], seed: int = 0) -> dict:
        return {}

    def next_turn(self, ctx: Ctx) -> Turn | None:
        raise NotImplementedError

    def after_turn(self, ctx: Ctx, turn: Turn, outputs: dict[str, Output]) -> list[EventSpec]:
        return []

    def end_reason(self, ctx: Ctx) -> str:
        return f"{self.title} complete"

    def rules(self, ctx: Ctx) -> str:
        """Extra rules for every prompt (a scenario's rules text)."""
        return ""

    def default_output(self, ctx: Ctx, turn: Turn, actor: str) -> dict:
        """The safe default when structured output is invalid twice."""
        return {}


def positive_int(params: dict, name: str, minimum: int = 1, maximum: int = 1000) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ValueError(f"{name} must be a whole number from {minimum} to {maximum} (got {value!r})")
    return value


def enum_schema(name: str, options: list[str], reason: bool = True) -> dict:
    props = {name: {"type": "string", "enum": options}}
    if reason:
        props["reason"] = {"type": "string"}
    return {"type": "object", "properties": props, "required": [name]}
