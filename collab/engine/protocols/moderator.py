from collab.engine.params import count, role_param
from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn, enum_schema, positive_int
from collab.engine.protocols.phases import VERDICT_SCHEMA


class Moderator(Protocol):
    """A lead agent picks the next speaker by structured output; a bad or
    missing pick falls back to round robin, and an event says so.

    With a `veto_role` (the critic of a team of rivals), the work is handed in
    only once that role approves it: before the session ends the critic
    reviews it, and a veto sends the team back for `rework_speeches` more
    speeches, at most `max_vetoes` times. A review that is not valid JSON is
    re-asked once, then counts as a veto: errors are caught before the user
    sees them, and the veto cap still bounds the session."""

    key = "moderator"
    title = "Moderator"
    description = "A lead agent picks who speaks next each turn; optionally a critic must approve before the end."
    default_params = {"moderator": "", "speeches": 6, "veto_role": "", "max_vetoes": 2, "rework_speeches": 3}
    params_schema = (
        role_param("moderator", "The role that picks who speaks next (empty: the first role)."),
        count("speeches", "How many speeches the moderator hands out."),
        role_param("veto_role", "A critic who must approve before the end (empty: none).", "Veto role"),
        count("max_vetoes", "Most vetoes before the work is handed in anyway.", 0, 20),
        count("rework_speeches", "Speeches after each veto to rework the result."),
    )

    def validate_params(self, params, roles):
        merged = super().validate_params(params, roles)
        moderator = merged.get("moderator") or roles[0]
        if moderator not in roles:
            raise ValueError(f"moderator: {moderator!r} is not a role ({', '.join(roles)})")
        veto = merged.get("veto_role") or ""
        if veto and veto not in roles:
            raise ValueError(f"veto_role: {veto!r} is not a role ({', '.join(roles)})")
        clean = {"moderator": moderator, "speeches": positive_int(merged, "speeches")}
        if veto:
            clean.update(veto_role=veto, max_vetoes=positive_int(merged, "max_vetoes", 0, 20),
                         rework_speeches=positive_int(merged, "rework_speeches"))
        return clean

    def next_turn(self, ctx: Ctx) -> Turn | None:
        if ctx.pstate.get("speeches", 0) >= self._speeches(ctx):
            critic = ctx.params.get("veto_role")
            if not critic or ctx.pstate.get("verdict"):
                return None
            vetoes = ctx.pstate.get("vetoes", 0)
            return Turn(
                actors=[critic], purpose="review", phase="veto review", schema=VERDICT_SCHEMA,
                instruction=(f"The team is about to hand in its work. You hold a veto ({vetoes} of "
                             f"{ctx.params['max_vetoes']} used): approve the work, or veto it and say what must be "
                             'fixed. Answer only with JSON: {"message": "<your review>", "verdict": "approve" or '
                             '"revise"}.'),
            )
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
        if turn.purpose == "review":
            return {"message": "(no valid review given; vetoing by default)", "verdict": "revise"}
        return {"next": self._round_robin(ctx), "reason": "fallback: round robin"}

    def _speeches(self, ctx: Ctx) -> int:
        """Speeches before the hand-in: the parameter, plus the rework each veto bought."""
        return ctx.params["speeches"] + ctx.pstate.get("extra", 0)

    def _round_robin(self, ctx: Ctx) -> str:
        names = ctx.names
        return names[ctx.pstate.get("speeches", 0) % len(names)]

    def after_turn(self, ctx, turn, outputs):
        if turn.purpose == "review":
            return self._reviewed(ctx, turn.actors[0], outputs[turn.actors[0]].data or {})
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

    def _reviewed(self, ctx: Ctx, critic: str, data: dict) -> list[EventSpec]:
        vetoes, cap = ctx.pstate.get("vetoes", 0), ctx.params["max_vetoes"]
        if data.get("verdict") == "approve":
            ctx.pstate["verdict"] = "approved"
            text = f"{critic} approves the work."
        elif vetoes < cap:
            vetoes = ctx.pstate["vetoes"] = vetoes + 1
            ctx.pstate["extra"] = ctx.pstate.get("extra", 0) + ctx.params["rework_speeches"]
            ctx.pstate["next"] = None
            text = (f"{critic} vetoes the work (veto {vetoes} of {cap}); the team reworks it for "
                    f"{ctx.params['rework_speeches']} more speeches.")
        else:
            ctx.pstate["verdict"] = "released over veto"
            text = f"{critic} vetoes again, but all {cap} vetoes are spent: the work is handed in over the veto."
        return [EventSpec("notice", actor=critic, payload={
            "text": text, "veto": data.get("verdict") != "approve", "vetoes": vetoes,
            "verdict": ctx.pstate.get("verdict", "vetoed")})]

    def end_reason(self, ctx):
        reason = f"moderated discussion finished {self._speeches(ctx)} speeches"
        verdict = ctx.pstate.get("verdict")
        if verdict == "approved":
            return f"{reason}; {ctx.params['veto_role']} approved the work"
        if verdict:
            return f"{reason}; handed in over {ctx.params['veto_role']}'s veto"
        return reason
