"""Who hears whom. An agent's prompt is built only from events it can see."""

from dataclasses import dataclass

from collab.engine.params import Param, role_param
from collab.engine.registry import Registry


def is_role(actor: str, roles: list[str]) -> bool:
    return actor in roles


@dataclass(frozen=True)
class Topology:
    key: str
    title: str
    description: str
    params_schema: tuple = ()  # collab.engine.params.Param per parameter, for the New session form

    def validate_params(self, params: dict, roles: list[str]) -> dict:
        return {}

    def hears(self, listener: str, speaker: str, params: dict, roles: list[str]) -> bool:
        return True

    def can_see(self, listener: str, event: dict, params: dict, roles: list[str]) -> bool:
        """Whether `listener` (a role name) sees `event` (a serialized event)."""
        actor = event["actor"]
        audience = event.get("audience")
        if actor == listener:
            return True
        if audience is not None and listener not in audience:
            return False
        if audience is not None:
            return True  # addressed to the listener: a whisper reaches it whatever the graph says
        if not is_role(actor, roles):
            return True  # facilitator, system and scenario events reach every role
        return self.hears(listener, actor, params, roles)


class Everyone(Topology):
    pass


class Star(Topology):
    def validate_params(self, params, roles):
        hub = params.get("hub") or (roles[0] if roles else "")
        if hub not in roles:
            raise ValueError(f"star topology: hub {hub!r} is not a role ({', '.join(roles)})")
        return {"hub": hub}

    def hears(self, listener, speaker, params, roles):
        hub = params.get("hub") or roles[0]
        return listener == hub or speaker == hub


class Chain(Topology):
    def hears(self, listener, speaker, params, roles):
        return abs(roles.index(listener) - roles.index(speaker)) == 1


class Custom(Topology):
    def validate_params(self, params, roles):
        graph = params.get("graph")
        if not isinstance(graph, dict):
            raise ValueError("custom topology: give 'graph' as {listener: [speakers it hears]}")
        clean = {}
        for listener, speakers in graph.items():
            if listener not in roles:
                raise ValueError(f"custom topology: {listener!r} is not a role ({', '.join(roles)})")
            if not isinstance(speakers, list) or any(s not in roles for s in speakers):
                raise ValueError(f"custom topology: {listener!r} must list role names it hears")
            clean[listener] = list(speakers)
        return {"graph": clean}

    def hears(self, listener, speaker, params, roles):
        return speaker in params.get("graph", {}).get(listener, [])


TOPOLOGIES: Registry[Topology] = Registry("topology")
TOPOLOGIES.register(Everyone("everyone", "Everyone", "Every role hears every message."))
TOPOLOGIES.register(Star("star", "Star around a hub", "The hub hears everyone; the others hear only the hub.",
                         (role_param("hub", "The role at the centre (empty: the first role)."),)))
TOPOLOGIES.register(Chain("chain", "Chain", "Each role hears only its neighbours in the team order."))
TOPOLOGIES.register(Custom("custom", "Custom graph", "A who-hears-whom graph you give.", (
    Param("graph", "json", 'Who hears whom: {"listener": ["speakers it hears"]}, by role name.'),)))
