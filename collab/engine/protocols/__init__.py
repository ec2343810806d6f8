"""Protocols decide who acts next. One module each, registered here."""

from collab.engine.protocols.debate_vote import DebateVote
from collab.engine.protocols.moderator import Moderator
from collab.engine.protocols.phases import Phases
from collab.engine.protocols.plan_execute import PlanExecute
from collab.engine.protocols.relay import Relay
from collab.engine.protocols.round_robin import RoundRobin
from collab.engine.protocols.scenario import ScenarioProtocol
from collab.engine.protocols.simultaneous import Simultaneous
from collab.engine.registry import Registry

PROTOCOLS: Registry = Registry("protocol")
for protocol in (RoundRobin(), Moderator(), Phases(), DebateVote(), PlanExecute(), Simultaneous(), Relay(),
                 ScenarioProtocol()):
    PROTOCOLS.register(protocol)
