from collab.engine import plan as plan_mod
from collab.engine.params import count
from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn, positive_int

DRAFT_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "steps": {"type": "array", "items": plan_mod.STEP_SCHEMA, "minItems": 1},
    },
    "required": ["message", "steps"],
}
PROGRESS_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "step": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": plan_mod.STATUSES},
        "revise": {"type": "array", "items": plan_mod.STEP_SCHEMA},
    },
    "required": ["message", "step", "status"],
}


class PlanExecute(Protocol):
    """CaPo: the team drafts a shared meta-plan (steps with owner and
    status), then executes it step by step, reporting progress and revising
    the plan when progress demands."""

    key = "plan_execute"
    title = "Meta-plan, then adaptive execution"
    description = "Draft a shared plan together, then execute it step by step and re-plan when needed."
    default_params = {"plan_turns": 2, "max_revisions": 2, "max_execute_turns": 12}
    params_schema = (
        count("plan_turns", "Turns spent drafting the shared plan before anyone executes."),
        count("max_revisions", "Most times the team may re-plan during execution.", 0, 50),
        count("max_execute_turns", "Most turns of execution.", label="Max execution turns"),
    )

    def validate_params(self, params, roles):
        merged = super().validate_params(params, roles)
        return {
            "plan_turns": positive_int(merged, "plan_turns"),
            "max_revisions": positive_int(merged, "max_revisions", 0, 50),
            "max_execute_turns": positive_int(merged, "max_execute_turns"),
        }

    def next_turn(self, ctx: Ctx) -> Turn | None:
        names = ctx.names
        drafted = ctx.pstate.get("drafts", 0)
        if drafted < ctx.params["plan_turns"]:
            return Turn(actors=[names[drafted % len(names)]], purpose="plan_draft", phase="meta-plan",
                        schema=DRAFT_SCHEMA, instruction=(
                            "Draft or improve the team's shared plan. Answer only with JSON: "
                            '{"message": "<what you changed and why>", "steps": [{"text": "...", '
                            f'"owner": one of {names}, "status": "todo"}}, ...]}}.'))
        steps = ctx.plan.get("steps", [])
        pending = [i for i, s in enumerate(steps) if s["status"] != "done"]
        if not pending or ctx.pstate.get("executed", 0) >= ctx.params["max_execute_turns"]:
            return None
        index = pending[0]
        owner = steps[index]["owner"] or names[ctx.pstate.get("executed", 0) % len(names)]
        return Turn(actors=[owner], purpose="progress", phase="execute", schema=PROGRESS_SCHEMA, instruction=(
            f"Work on step {index + 1}: {steps[index]['text']}. Report progress. Answer only with JSON: "
            '{"message": "<what you did>", "step": <number>, "status": "doing" | "done" | "blocked", '
            '"revise": <optional new full list of steps, only if the plan must change>}.'))

    def default_output(self, ctx, turn, actor):
        if turn.purpose == "plan_draft":
            return {"message": "(no valid plan given; keeping the current plan)", "steps": None}
        pending = [i for i, s in enumerate(ctx.plan.get("steps", [])) if s["status"] != "done"]
        return {"message": "(no valid progress report; marking the step blocked)",
                "step": (pending[0] + 1) if pending else 1, "status": "blocked"}

    def after_turn(self, ctx, turn, outputs):
        out = outputs[turn.actors[0]].data or {}
        actor = turn.actors[0]
        if turn.purpose == "plan_draft":
            ctx.pstate["drafts"] = ctx.pstate.get("drafts", 0) + 1
            if out.get("steps"):
                return [self._replace(ctx, actor, out["steps"], "drafted the meta-plan")]
            return []
        ctx.pstate["executed"] = ctx.pstate.get("executed", 0) + 1
        steps = [dict(s) for s in ctx.plan.get("steps", [])]
        if out.get("revise") and ctx.pstate.get("revisions", 0) < ctx.params["max_revisions"]:
            ctx.pstate["revisions"] = ctx.pstate.get("revisions", 0) + 1
            return [self._replace(ctx, actor, out["revise"], "re-planned from progress")]
        index = int(out.get("step", 1)) - 1
        if 0 <= index < len(steps):
            steps[index]["status"] = out.get("status", "doing")
            # A step blocked twice is marked done-with-notes so execution cannot loop forever.
            if steps[index]["status"] == "blocked":
                blocked = ctx.pstate.setdefault("blocked", {})
                blocked[str(index)] = blocked.get(str(index), 0) + 1
                if blocked[str(index)] >= 2:
                    steps[index]["status"] = "done"
                    steps[index]["notes"] = (steps[index]["notes"] + " (abandoned after being blocked twice)").strip()
            return [self._replace(ctx, actor, steps, f"step {index + 1} is {steps[index]['status']}")]
        return []

    def _replace(self, ctx: Ctx, actor: str, raw_steps: list, why: str) -> EventSpec:
        try:
            steps = plan_mod.clean_steps(raw_steps, ctx.names)
        except ValueError as exc:
            return EventSpec("notice", actor=actor, payload={"text": f"Plan change refused: {exc}"})
        before = ctx.plan.get("steps", [])
        ctx.plan["steps"] = steps
        ctx.plan["version"] = ctx.plan.get("version", 0) + 1
        return EventSpec("plan", actor=actor, payload={
            "plan": {"steps": steps, "version": ctx.plan["version"]}, "diff": plan_mod.diff(before, steps), "why": why})

    def end_reason(self, ctx):
        steps = ctx.plan.get("steps", [])
        if steps and all(s["status"] == "done" for s in steps):
            return "plan complete: every step done"
        return "execution turn limit reached"
