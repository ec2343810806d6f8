from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn, enum_schema, positive_int


class Moderator(Protocol):
    """A lead agent picks the next speaker by structured output; a bad or
    missing pick falls back to round robin, and an event says so."""

    key = "moderator"
    title = "Moderator"
    description = "A lead agent picks who speaks next each turn."
    default_params = {"moderator": "", "speeches": 6}

    def validate_params(self, params, roles):
        merged = super().validate_params(params, roles)
        moderator = merged.get("moderator") or roles[0]
        if moderator not in roles:
            raise ValueError(f"moderator: {moderator!r} is not a role ({', '.join(roles)})")
        return {"moderator": moderator, "speeches": positive_int(merged, "speeches")}

    def next_turn(self, ctx: Ctx) -> Turn | None:
        if ctx.pstate.get("speeches", 0) >= ctx.params["speeches"]:
            return None
        chosen = ctx.pstate.get("next")
        if chosen:
            return Turn(actors=[chosen], phase="speak")
        return Turn(
            actors=[ctx.params["moderator"]],
            purpose="pick_next",
            instruction=("As moderator, choose who should speak next. Answer only with JSON: "
                         '{"next": "<role name>", "reason": "<why>"}.'),
            schema=enum_schema("next", ctx.names),
            phase="moderate",
        )

    def default_output(self, ctx, turn, actor):
        return {"next": self._round_robin(ctx), "reason": "fallback: round robin"}

    def _round_robin(self, ctx: Ctx) -> str:
        names = ctx.names
        return names[ctx.pstate.get("speeches", 0) % len(names)]

    def after_turn(self, ctx, turn, outputs):
        if turn.purpose == "pick_next":
            out = outputs[turn.actors[0]]
            choice = (out.data or {}).get("next")
            ctx.pstate["next"] = choice
            if out.defaulted:
                return [EventSpec("notice", payload={
                    "text": f"Moderator gave no valid choice; falling back to round robin: {choice}.",
                    "fallback": "round_robin", "next": choice})]
            return [EventSpec("notice", actor=turn.actors[0], payload={
                "text": f"Moderator picks {choice}: {(out.data or {}).get('reason', '')}".strip(), "next": choice})]
        ctx.pstate["next"] = None
        ctx.pstate["speeches"] = ctx.pstate.get("speeches", 0) + 1
        return []

    def end_reason(self, ctx):
        return f"moderated discussion finished {ctx.params['speeches']} speeches"
