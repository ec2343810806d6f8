from collab.engine.params import count
from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn, positive_int


class Relay(Protocol):
    """The strongest role leads for N turns, then hands the lead on (as in
    The Collaboration Gap's relay: strong agent first). Within a lead, the
    leader and the others alternate: lead, respond, lead, respond."""

    key = "relay"
    title = "Relay"
    description = "The strongest role leads for N turns, then hands the lead to the next."
    default_params = {"lead_turns": 2}
    params_schema = (count("lead_turns", "Turns each lead speaks before handing over.", label="Turns per lead"),)

    def validate_params(self, params, roles):
        return {"lead_turns": positive_int(super().validate_params(params, roles), "lead_turns")}

    def order(self, ctx: Ctx) -> list[str]:
        ranked = sorted(enumerate(ctx.roles), key=lambda ir: (-int(ir[1].get("strength", 1)), ir[0]))
        return [r["name"] for _, r in ranked]

    def next_turn(self, ctx: Ctx) -> Turn | None:
        order = self.order(ctx)
        done = ctx.pstate.get("turns", 0)
        if len(order) == 1:
            return Turn(actors=order, phase="lead") if done < ctx.params["lead_turns"] else None
        per_lead = ctx.params["lead_turns"] * 2
        lead_index = done // per_lead
        if lead_index >= len(order):
            return None
        leader = order[lead_index]
        within = done % per_lead
        if within % 2 == 0:
            return Turn(actors=[leader], phase=f"{leader} leads",
                        instruction="You lead now: propose the next concrete step for the team.")
        followers = [n for n in order if n != leader]
        follower = followers[(within // 2) % len(followers)]
        return Turn(actors=[follower], phase=f"{leader} leads",
                    instruction=f"{leader} leads: respond to their proposal and carry it forward.")

    def after_turn(self, ctx, turn, outputs):
        before = ctx.pstate.get("turns", 0)
        ctx.pstate["turns"] = before + 1
        per_lead = ctx.params["lead_turns"] * 2
        order = self.order(ctx)
        if (before + 1) % per_lead == 0 and (before + 1) // per_lead < len(order):
            nxt = order[(before + 1) // per_lead]
            return [EventSpec("notice", payload={"text": f"The lead passes to {nxt}.", "lead": nxt})]
        return []

    def end_reason(self, ctx):
        return "every role has led"
