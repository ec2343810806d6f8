from collab.engine.params import count
from collab.engine.protocols.base import Ctx, Protocol, Turn, positive_int


class RoundRobin(Protocol):
    key = "round_robin"
    title = "Round robin"
    description = "Roles speak in a fixed order, for a number of rounds."
    default_params = {"rounds": 3}
    params_schema = (count("rounds", "How many times each role speaks, in team order."),)

    def validate_params(self, params, roles):
        merged = super().validate_params(params, roles)
        order = merged.get("order") or roles
        if sorted(order) != sorted(roles):
            raise ValueError(f"round_robin: order must list each role once ({', '.join(roles)})")
        return {"rounds": positive_int(merged, "rounds"), "order": list(order)}

    def next_turn(self, ctx: Ctx) -> Turn | None:
        order = ctx.params["order"]
        spoken = ctx.pstate.get("spoken", 0)
        if spoken >= ctx.params["rounds"] * len(order):
            return None
        return Turn(actors=[order[spoken % len(order)]], phase=f"round {spoken // len(order) + 1}")

    def after_turn(self, ctx, turn, outputs):
        ctx.pstate["spoken"] = ctx.pstate.get("spoken", 0) + 1
        return []

    def end_reason(self, ctx):
        return f"round robin finished {ctx.params['rounds']} rounds"
