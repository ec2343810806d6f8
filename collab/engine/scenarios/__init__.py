"""Research scenarios: rules, state, actions and metrics. One module each, registered here."""

from . import design_review, donor, fishery, maze, public_goods, ranking  # noqa: F401  (registers them)
from .base import REGISTRY, Scenario, play_scripted, register, validate_json

__all__ = ["REGISTRY", "Scenario", "all_scenarios", "UnknownScenario", "get", "play_scripted", "register", "validate_json"]


class UnknownScenario(KeyError):
    def __str__(self) -> str:
        return self.args[0]


def get(key: str) -> Scenario:
    try:
        return REGISTRY[key]()
    except KeyError:
        raise UnknownScenario(f"unknown scenario {key!r}; known scenarios: {', '.join(sorted(REGISTRY))}") from None


def all_scenarios() -> list[Scenario]:
    return [REGISTRY[key]() for key in sorted(REGISTRY)]
