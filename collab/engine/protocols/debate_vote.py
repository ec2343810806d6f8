from collections import Counter

from collab.engine.params import Param, count
from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn, enum_schema, positive_int


class DebateVote(Protocol):
    """R rounds in which every role speaks, then every role votes; the
    tally and the winner (or a tie) are events."""

    key = "debate_vote"
    title = "Debate and vote"
    description = "Rounds of argument in which every role speaks, then a majority vote."
    default_params = {"rounds": 2, "options": ["yes", "no"]}
    params_schema = (
        count("rounds", "Rounds of argument; every role speaks once a round."),
        Param("options", "list", "What the team votes on, comma-separated (at least two).", "Vote options"),
    )

    def validate_params(self, params, roles):
        merged = super().validate_params(params, roles)
        options = [str(o).strip() for o in merged.get("options") or [] if str(o).strip()]
        if len(options) < 2 or len(set(options)) != len(options):
            raise ValueError("debate_vote: give at least two distinct options")
        return {"rounds": positive_int(merged, "rounds"), "options": options}

    def next_turn(self, ctx: Ctx) -> Turn | None:
        names = ctx.names
        spoken = ctx.pstate.get("spoken", 0)
        if spoken < ctx.params["rounds"] * len(names):
            options = ", ".join(ctx.params["options"])
            return Turn(actors=[names[spoken % len(names)]], phase=f"debate round {spoken // len(names) + 1}",
                        instruction=f"Argue your position on the options ({options}). Answer the others' points.")
        if ctx.pstate.get("voted"):
            return None
        return Turn(actors=list(names), purpose="vote", phase="vote", schema=enum_schema("vote", ctx.params["options"]),
                    instruction=("Vote now. Answer only with JSON: "
                                 f'{{"vote": one of {ctx.params["options"]}, "reason": "<one sentence>"}}.'))

    def default_output(self, ctx, turn, actor):
        return {"vote": None, "reason": "abstained: no valid vote"}

    def after_turn(self, ctx, turn, outputs):
        if turn.purpose != "vote":
            ctx.pstate["spoken"] = ctx.pstate.get("spoken", 0) + 1
            return []
        ctx.pstate["voted"] = True
        events, counts = [], Counter()
        for actor in turn.actors:
            data = outputs[actor].data or {}
            vote = data.get("vote")
            if vote:
                counts[vote] += 1
            events.append(EventSpec("vote", actor=actor, payload={
                "vote": vote, "reason": data.get("reason", ""), "abstained": vote is None}))
        tally = {option: counts.get(option, 0) for option in ctx.params["options"]}
        top = max(tally.values())
        leaders = [o for o, c in tally.items() if c == top] if top else []
        result = {"tally": tally, "winner": leaders[0] if len(leaders) == 1 else None,
                  "tie": leaders if len(leaders) > 1 else [], "votes_cast": sum(counts.values())}
        if result["winner"]:
            result["text"] = f"{result['winner']} wins with {top} of {len(turn.actors)} votes."
        elif leaders:
            result["text"] = f"Tie between {', '.join(leaders)} at {top} votes each."
        else:
            result["text"] = "No valid votes were cast."
        ctx.pstate["result"] = result
        events.append(EventSpec("tally", payload=result))
        return events

    def end_reason(self, ctx):
        result = ctx.pstate.get("result") or {}
        return f"vote complete: {result.get('text', '')}".strip()
