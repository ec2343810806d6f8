"""Parameter schemas: what each parameter of a protocol, scenario or topology
is (a number in a range, a choice, a yes/no, a role's name, text, JSON), with
a label and one line of help. The New session page builds its form fields from
these; the plug-in's own validation stays the final word on the values."""

from dataclasses import dataclass
from typing import Any

KINDS = {"int", "float", "bool", "choice", "text", "longtext", "role", "list", "json"}


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    help: str = ""
    label: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


def role_param(name: str, help: str, label: str = "") -> Param:
    return Param(name, "role", help, label)


def count(name: str, help: str, low: int = 1, high: int = 1000, label: str = "") -> Param:
    return Param(name, "int", help, label, low, high)


def defaults_of(plugin: Any) -> dict:
    """A plug-in's parameter defaults (protocols and scenarios have `default_params`)."""
    return dict(getattr(plugin, "default_params", None) or {})
