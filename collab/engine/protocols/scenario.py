import json
import random

from collab.engine import scenarios
from collab.engine.protocols.base import Ctx, EventSpec, Protocol, Turn


class ScenarioProtocol(Protocol):
    """A research scenario drives the turns: its rules say who acts (with a
    JSON action checked by the scenario), who talks and who reflects. The
    scenario's state is this protocol's state; after every act step its
    state, metrics and chart are logged as a scenario_state event."""

    key = "scenario"
    title = "Scenario rules"
    description = "A research scenario (fishery, donor game, maze...) decides who acts, talks and reflects."
    ended_by = "scenario"

    def scenario(self, params: dict) -> scenarios.Scenario:
        return scenarios.get(params["scenario"])

    def validate_params(self, params, roles):
        params = params or {}
        try:
            sc = scenarios.get(params.get("scenario") or "")
        except scenarios.UnknownScenario as exc:
            raise ValueError(str(exc)) from None
        clean = sc.params(params.get("params") or {})
        strategies = params.get("strategies") or sc.strategies[0]
        chosen = [strategies] if isinstance(strategies, str) else list((strategies or {}).values())
        unknown = [s for s in chosen if s not in sc.strategies]
        if unknown:
            raise ValueError(f"{sc.key}: unknown strategy {unknown[0]!r}; known: {', '.join(sc.strategies)}")
        if isinstance(strategies, dict) and set(strategies) - set(roles):
            raise ValueError(f"{sc.key}: strategies name roles not in the team ({', '.join(roles)})")
        sc.initial_state(clean, roles, 0)  # the scenario's own checks of the team (size, roles)
        return {"scenario": sc.key, "params": clean, "strategies": strategies}

    def init_state(self, params, roles, seed=0):
        return self.scenario(params).initial_state(params["params"], roles, seed)

    def _strategy(self, params: dict, actor: str) -> str:
        strategies = params["strategies"]
        if isinstance(strategies, str):
            return strategies
        return strategies.get(actor) or self.scenario(params).strategies[0]

    def next_turn(self, ctx: Ctx) -> Turn | None:
        sc, state = self.scenario(ctx.params), ctx.pstate
        step = sc.next_step(state)
        if step is None:
            return None
        actors, phase = step["actors"], step["phase"]
        rng = random.Random(f"{ctx.seed}:{ctx.turn_index}:scripted")
        turn = Turn(actors=list(actors), phase=f"round {step.get('round', '')}: {phase}".strip(),
                    observations={a: sc.observation(state, a) for a in actors})
        if phase == "act":
            turn.purpose = "action"
            turn.schemas = {a: sc.action_schema(state, a) for a in actors}
            turn.check = lambda actor, data: sc.validate_action(state, actor, data)
            turn.scripted = {a: json.dumps(sc.scripted_action(state, a, self._strategy(ctx.params, a), rng))
                             for a in actors}
            turn.instruction = ("Decide your action. Answer only with a JSON object that fits this schema:\n"
                                + json.dumps(turn.schemas[actors[0]]))
        else:
            turn.purpose = "talk" if phase == "talk" else "reflect"
            turn.scripted = {a: sc.scripted_talk(state, a, self._strategy(ctx.params, a), rng) for a in actors}
            turn.instruction = ("Speak to the others: one short message (an empty reply passes)." if phase == "talk"
                                else "Reflect briefly on what happened and what you will do next.")
        return turn

    def rules(self, ctx):
        return self.scenario(ctx.params).rules_text(ctx.pstate)

    def default_output(self, ctx, turn, actor):
        return self.scenario(ctx.params).default_action(ctx.pstate, actor)

    def after_turn(self, ctx, turn, outputs):
        sc = self.scenario(ctx.params)
        if turn.purpose == "talk":
            actor = turn.actors[0]
            ctx.pstate = sc.record_talk(ctx.pstate, actor, outputs[actor].text if actor in outputs else "")
            return []
        if turn.purpose == "reflect":
            for actor in turn.actors:
                ctx.pstate = sc.record_reflection(ctx.pstate, actor, outputs[actor].text if actor in outputs else "")
            return []
        actions = {a: (outputs[a].data or {}) if a in outputs else {} for a in turn.actors}
        private = sc.private_acts(ctx.pstate)
        state, report = sc.apply(ctx.pstate, actions, sc.step_rng(ctx.pstate))
        ctx.pstate = state
        defaulted = set(report.get("defaulted", []))
        events = [EventSpec("action", actor=a, payload={
            "action": report.get("actions", {}).get(a, actions[a]),
            "defaulted": a in defaulted or (a in outputs and outputs[a].defaulted)},
            audience=[a] if private else None) for a in turn.actors]
        events.append(EventSpec("scenario_state", payload=self.snapshot(sc, state, report)))
        return events

    @staticmethod
    def snapshot(sc, state: dict, report: dict) -> dict:
        metrics = sc.metrics(state)
        figures = ", ".join(f"{k.replace('_', ' ')} {round(v, 3) if isinstance(v, float) else v}"
                            for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool))
        end = sc.end_reason(state)
        text = f"{sc.title}, round {report.get('round')}: {figures or 'resolved'}." + (f" Ended: {end}." if end else "")
        return {"scenario": sc.key, "title": sc.title, "text": text, "round": report.get("round"),
                "report": report, "metrics": metrics, "chart": sc.chart(state), "end_reason": end}

    def end_reason(self, ctx):
        return self.scenario(ctx.params).end_reason(ctx.pstate) or "scenario complete"
