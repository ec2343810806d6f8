from collab.engine.params import Param
from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn, positive_int

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "verdict": {"type": "string", "enum": ["approve", "revise"]},
    },
    "required": ["message", "verdict"],
}


class Phases(Protocol):
    """A waterfall of named phases with feedback loops, as in
    self-collaboration code generation (analyst -> coder -> tester, the
    tester can send work back up to K times) and ChatDev's chat chain."""

    key = "phases"
    title = "Waterfall phases"
    description = "Named phases, each with participants and a goal; a reviewing phase can send work back."
    default_params = {"phases": []}
    params_schema = (Param("phases", "json", 'A list of {"name", "participants": [roles], "goal", "turns"}; '
                                              "empty: one phase per role, in team order."),)

    def validate_params(self, params, roles):
        phases = (params or {}).get("phases") or [
            {"name": f"phase {i + 1}: {r}", "participants": [r], "goal": "", "turns": 1} for i, r in enumerate(roles)
        ]
        clean, names = [], set()
        for raw in phases:
            name = str(raw.get("name", "")).strip()
            if not name or name in names:
                raise ValueError("phases: every phase needs a distinct name")
            names.add(name)
            participants = raw.get("participants") or []
            unknown = [p for p in participants if p not in roles]
            if not participants or unknown:
                raise ValueError(f"phases: phase {name!r} needs participants among {', '.join(roles)}")
            phase = {"name": name, "participants": list(participants), "goal": str(raw.get("goal", "")),
                     "turns": positive_int({"turns": raw.get("turns", len(participants))}, "turns")}
            if raw.get("feedback_to"):
                phase["feedback_to"] = raw["feedback_to"]
                phase["max_loops"] = positive_int({"max_loops": raw.get("max_loops", 2)}, "max_loops", 0, 20)
            clean.append(phase)
        for phase in clean:
            if "feedback_to" in phase and phase["feedback_to"] not in names:
                raise ValueError(f"phases: {phase['name']!r} sends feedback to unknown phase {phase['feedback_to']!r}")
        return {"phases": clean}

    def _current(self, ctx: Ctx) -> dict | None:
        index = ctx.pstate.get("phase", 0)
        phases = ctx.params["phases"]
        return phases[index] if index < len(phases) else None

    def next_turn(self, ctx: Ctx) -> Turn | None:
        phase = self._current(ctx)
        if phase is None:
            return None
        step = ctx.pstate.get("step", 0)
        actor = phase["participants"][step % len(phase["participants"])]
        instruction = f"Phase '{phase['name']}'. Goal: {phase['goal']}".strip()
        last_step = step == phase["turns"] - 1
        if "feedback_to" in phase and last_step:
            return Turn(actors=[actor], purpose="review", phase=phase["name"], schema=VERDICT_SCHEMA,
                        instruction=(f"{instruction}\nReview the work. Answer only with JSON: "
                                     '{"message": "<your review>", "verdict": "approve" or "revise"}.'))
        return Turn(actors=[actor], phase=phase["name"], instruction=instruction)

    def default_output(self, ctx, turn, actor):
        return {"message": "(no valid review given; approving by default)", "verdict": "approve"}

    def after_turn(self, ctx, turn, outputs):
        phase = self._current(ctx)
        step = ctx.pstate.get("step", 0) + 1
        events = []
        if step < phase["turns"]:
            ctx.pstate["step"] = step
            return events
        ctx.pstate["step"] = 0
        verdict = (outputs[turn.actors[0]].data or {}).get("verdict") if turn.purpose == "review" else None
        loops = ctx.pstate.setdefault("loops", {})
        names = [p["name"] for p in ctx.params["phases"]]
        if verdict == "revise" and loops.get(phase["name"], 0) < phase["max_loops"]:
            loops[phase["name"]] = loops.get(phase["name"], 0) + 1
            ctx.pstate["phase"] = names.index(phase["feedback_to"])
            events.append(EventSpec("notice", payload={
                "text": f"{phase['name']} sends the work back to {phase['feedback_to']} "
                        f"(loop {loops[phase['name']]} of {phase['max_loops']}).",
                "phase": phase["feedback_to"], "loop": loops[phase["name"]]}))
        else:
            ctx.pstate["phase"] = ctx.pstate.get("phase", 0) + 1
            nxt = self._current(ctx)
            text = f"Phase '{phase['name']}' done." + (f" Next: '{nxt['name']}'." if nxt else "")
            events.append(EventSpec("notice", payload={"text": text, "phase": nxt["name"] if nxt else None}))
        return events

    def end_reason(self, ctx):
        return "all phases complete"
