from collab.engine.params import count
from collab.engine.protocols.base import Ctx, Protocol, Turn, positive_int


class Simultaneous(Protocol):
    """Every role acts at once each round; their model calls run concurrently."""

    key = "simultaneous"
    title = "Simultaneous rounds"
    description = "Every role acts at once each round, like moves in a game round."
    default_params = {"rounds": 3}
    params_schema = (count("rounds", "How many rounds in which every role acts at once."),)

    def validate_params(self, params, roles):
        return {"rounds": positive_int(super().validate_params(params, roles), "rounds")}

    def next_turn(self, ctx: Ctx) -> Turn | None:
        played = ctx.pstate.get("rounds", 0)
        if played >= ctx.params["rounds"]:
            return None
        return Turn(actors=list(ctx.names), phase=f"round {played + 1}",
                    instruction="Everyone moves at once this round: state your move and why, briefly.")

    def after_turn(self, ctx, turn, outputs):
        ctx.pstate["rounds"] = ctx.pstate.get("rounds", 0) + 1
        return []

    def end_reason(self, ctx):
        return f"{ctx.params['rounds']} simultaneous rounds played"
