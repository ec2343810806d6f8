"""Donor game with reputation traces and generations, after "Cultural Evolution
of Cooperation among LLM Agents"."""

from __future__ import annotations

import random

from collab.engine.params import Param, count

from .base import Scenario, mean, register


def schedule(order: list[str]) -> list[list[list[str]]]:
    """The paper's generation schedule for an even list of agents (already
    shuffled): the first half is group A, the second group B. Round i pairs
    A[j] with B rotated by i; even rounds A donates, odd rounds B donates.
    Then the same rounds are replayed with donor and recipient swapped, so
    there are len(order) rounds, each agent donates len(order)/2 times, and
    nobody ever donates to the agent who has just given to it."""
    half = len(order) // 2
    group_a, group_b = order[:half], order[half:]
    rounds = []
    for i in range(half):
        rotated = group_b[-i:] + group_b[:-i] if i else list(group_b)
        pairs = zip(rotated, group_a, strict=True) if i % 2 else zip(group_a, rotated, strict=True)
        rounds.append([[d, r] for d, r in pairs])
    return rounds + [[[r, d] for d, r in pairs] for pairs in rounds]


def shuffled(names: list[str], seed: int, generation: int) -> list[str]:
    """Each generation's reshuffle, from the seed alone."""
    order = list(names)
    random.Random(f"{seed}:donor:generation:{generation}").shuffle(order)
    return order


@register
class DonorGame(Scenario):
    """Agents start each generation with `initial_resources` units. As in the
    paper's code, each generation the agents are reshuffled by the seed and
    split into two groups that alternate as donors (see `schedule`): a round
    is one simultaneous act step in which half the agents donate to the
    other half, and the second half of the schedule replays the first with
    roles reversed. Rounds beyond one schedule cycle through it again.

    The donor sees the recipient's chain trace: what the recipient did as
    donor last, what that earlier recipient had done before, and so on, up
    to `trace_length` steps back (a donor's trace is its recipient's trace
    plus its own action). It gives a fraction of its current resources;
    the recipient receives `multiplier` times the gift. With `punishment`
    the donor either gives or punishes, never both: spending x costs the
    recipient punish_multiplier * x (resources never go below 0).

    At the end of a generation the top half by resources survive (ties
    broken by role order), the bottom half is replaced by newcomers who see
    the survivors' strategies as advice; everyone's resources reset and
    all traces start empty again. Before a generation's first round every
    agent without a strategy writes one (a reflect step), stored in state.

    Default action: {"give_fraction": 0.0} (and "punish_fraction": 0.0): the
    donor keeps everything and punishes nobody.
    """

    key = "donor"
    title = "Donor game"
    summary = "Agents donate to each other over generations; reputation travels, the poorest are replaced."
    paper = "Cultural Evolution of Cooperation among LLM Agents (Vallinder & Hughes, 2024)"
    default_params = {
        "generations": 3,
        "rounds_per_generation": 12,
        "initial_resources": 10.0,
        "multiplier": 2.0,
        "punishment": False,
        "punish_multiplier": 2.0,
        "trace_length": 3,
        "strategy_phase": True,
    }
    param_help = {
        "generations": "Number of generations.",
        "rounds_per_generation": "Rounds per generation; each round half the agents donate to the other half "
                                 "(the paper: as many rounds as agents, so everyone donates n/2 times).",
        "initial_resources": "Units every agent holds at the start of a generation.",
        "multiplier": "The recipient receives this many times the gift.",
        "punishment": "Allow costly punishment: spend x so the recipient loses punish_multiplier * x.",
        "punish_multiplier": "How much the recipient loses per unit spent on punishment.",
        "trace_length": "How many steps back the donor sees the recipient's chain of actions.",
        "strategy_phase": "Agents write a strategy before their first generation (newcomers see survivors').",
    }
    params_schema = (
        count("generations", "", 1, 50),
        count("rounds_per_generation", "", 1, 200),
        Param("initial_resources", "float", min=0.01, max=1e9, step=0.01),
        Param("multiplier", "float", min=0.0, max=100.0, step=0.1),
        Param("punishment", "bool"),
        Param("punish_multiplier", "float", min=0.0, max=100.0, step=0.1),
        count("trace_length", "", 0, 50),
        Param("strategy_phase", "bool"),
    )
    default_roles = [
        {"name": f"Agent {i}", "persona": "A player in a society of donors and recipients.",
         "goals": "Have as many resources as possible at the end of each generation."}
        for i in range(1, 13)
    ]
    strategies = ["generous", "reciprocal", "stingy"]
    min_roles = 2

    def check_params(self, p: dict) -> None:
        self._range(p, "generations", 1, 50)
        self._range(p, "rounds_per_generation", 1, 200)
        self._range(p, "initial_resources", 0.01, 1e9)
        self._range(p, "multiplier", 0.0, 100.0)
        self._range(p, "punish_multiplier", 0.0, 100.0)
        self._range(p, "trace_length", 0, 50)

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        if len(names) % 2:
            raise ValueError(f"{self.key}: needs an even number of agents to pair them, got {len(names)}")
        state = self._base_state(p, names, seed)
        state.update({
            "generation": 1,
            "round": 1,
            "global_round": 1,
            "order": shuffled(names, seed, 1),
            "resources": {n: p["initial_resources"] for n in names},
            "agents": {n: {"id": f"g1-{n}", "born": 1, "strategy": ""} for n in names},
            "advice": [],
            "traces": {n: [] for n in names},
            "round_log": [],
            "generation_results": [],
            "punishments": 0,
        })
        self._start_generation(state)
        return state

    def _start_generation(self, state: dict) -> None:
        pending = [n for n in state["roles"] if not state["agents"][n]["strategy"]]
        state["stage"] = "strategy" if state["params"]["strategy_phase"] and pending else "act"

    def pairs(self, state: dict) -> list[list[str]]:
        """[donor, recipient] pairs of the current round."""
        rounds = schedule(state["order"])
        return rounds[(state["round"] - 1) % len(rounds)]

    def _recipient(self, state: dict, donor: str) -> str | None:
        return next((r for d, r in self.pairs(state) if d == donor), None)

    def rules_text(self, state: dict) -> str:
        p = state["params"]
        text = (
            f"Donor game with {len(state['roles'])} agents, {p['generations']} generations of "
            f"{p['rounds_per_generation']} rounds. Everyone starts a generation with {p['initial_resources']:g} "
            "units. Each round you are paired with another agent, sometimes as donor and sometimes as recipient; "
            "you never give to the agent who has just given to you. As donor you see what your recipient did "
            "as donor recently, and what their earlier partners did before that, and choose what fraction of "
            f"your resources to give; the recipient receives {p['multiplier']:g} times what you give. "
        )
        if p["punishment"]:
            text += (f"Instead of giving you may spend a fraction of your resources to punish the recipient: they "
                     f"lose {p['punish_multiplier']:g} times what you spend. You either give or punish, not both. ")
        text += ("At the end of a generation the half of agents with the most resources survive; the others are "
                 "replaced by newcomers who learn from the survivors' strategies.")
        return text

    def next_step(self, state: dict) -> dict | None:
        stage = state["stage"]
        if stage == "strategy":
            pending = [n for n in state["roles"] if not state["agents"][n]["strategy"]]
            return {"phase": "reflect", "actors": pending, "simultaneous": True, "round": state["global_round"]}
        if stage == "act":
            donors = {d for d, _ in self.pairs(state)}
            actors = [n for n in state["roles"] if n in donors]
            return {"phase": "act", "actors": actors, "simultaneous": True, "round": state["global_round"]}
        return None

    def trace_of(self, state: dict, name: str) -> list[dict]:
        """The chain the donor sees about `name`, most recent first."""
        k = state["params"]["trace_length"]
        return list(reversed(state["traces"][name][-k:])) if k else []

    def _trace_lines(self, state: dict, name: str) -> list[str]:
        lines = []
        for t in self.trace_of(state, name):
            if t["punished"]:
                lines.append(f"in round {t['round']}, {t['donor']} spent {t['punished']:g} units punishing "
                             f"{t['recipient']}")
            else:
                lines.append(f"in round {t['round']}, {t['donor']} gave {t['give_fraction']:.0%} of their "
                             f"resources ({t['given']:g} units) to {t['recipient']}")
        return lines

    def observation(self, state: dict, role_name: str) -> str:
        p = state["params"]
        agent = state["agents"][role_name]
        lines = [
            f"You are {role_name} (agent {agent['id']}), generation {state['generation']} of {p['generations']}.",
            f"Your resources: {state['resources'][role_name]:g} units.",
        ]
        if state["stage"] == "strategy":
            if state["advice"]:
                lines.append("Strategies of the agents who survived the previous generation:")
                lines += [f"- {text}" for text in state["advice"]]
            lines.append("Describe, in a few sentences, the strategy you will follow as donor.")
            return "\n".join(lines)
        if agent["strategy"]:
            lines.append(f"Your strategy: {agent['strategy']}")
        elif state["advice"]:
            lines.append("Strategies of the agents who survived the previous generation: "
                         + " | ".join(state["advice"]))
        if state["stage"] != "act":
            return "\n".join(lines)
        lines.append(f"Round {state['round']} of {p['rounds_per_generation']}.")
        recipient = self._recipient(state, role_name)
        if recipient is None:
            donor = next(d for d, r in self.pairs(state) if r == role_name)
            lines.append(f"You are the recipient this turn; {donor} is deciding what to give you.")
            return "\n".join(lines)
        lines.append(f"You are the donor. Your recipient is {recipient}, who has "
                     f"{state['resources'][recipient]:g} units.")
        trace = self._trace_lines(state, recipient)
        if trace:
            lines.append(f"What {recipient} and their earlier partners did, most recent first:")
            lines += [f"- {t}" for t in trace]
        else:
            lines.append(f"{recipient} has not acted as donor yet.")
        lines.append("What fraction of your resources do you give?")
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        props = {"give_fraction": {"type": "number", "minimum": 0, "maximum": 1,
                                   "description": "Fraction of your resources to give (0 to 1)."}}
        if state["params"]["punishment"]:
            props["punish_fraction"] = {"type": "number", "minimum": 0, "maximum": 1,
                                        "description": "Fraction of your resources to spend punishing (0 to 1)."}
        return {"type": "object", "properties": props, "required": ["give_fraction"]}

    def check_action(self, state: dict, role_name: str, action: dict) -> str | None:
        if action["give_fraction"] > 0 and action.get("punish_fraction", 0) > 0:
            return "give or punish, not both: set give_fraction or punish_fraction to 0"
        return None

    def default_action(self, state: dict, role_name: str) -> dict:
        action = {"give_fraction": 0.0}
        if state["params"]["punishment"]:
            action["punish_fraction"] = 0.0
        return action

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        recipient = self._recipient(state, role_name)
        # The recipient's own latest action heads its chain.
        past = [t["give_fraction"] for t in self.trace_of(state, recipient)[:1] if t["donor"] == recipient]
        punish = 0.0
        if strategy == "generous":
            give = 0.6
        elif strategy == "stingy":
            give = 0.0
        elif strategy == "reciprocal":
            give = round(mean(past), 4) if past else 0.5
            if state["params"]["punishment"] and past and mean(past) < 0.1:
                give, punish = 0.0, 0.1
        else:
            raise ValueError(f"{self.key}: unknown strategy {strategy!r}; known: {', '.join(self.strategies)}")
        action = {"give_fraction": give}
        if state["params"]["punishment"]:
            action["punish_fraction"] = punish
        return action

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        texts = {
            "generous": "Give 60% of my resources to everyone: generosity makes the whole society richer.",
            "reciprocal": "Give what the recipient gave recently (half when they have no record yet).",
            "stingy": "Give nothing and keep my resources; others' gifts are my gain.",
        }
        text = texts.get(strategy, texts["reciprocal"])
        if strategy == "reciprocal" and state["params"]["punishment"]:
            text += " Punish, instead of giving, recipients who gave almost nothing."
        return text

    def on_reflect(self, state: dict, role_name: str, text: str) -> dict:
        state["agents"][role_name]["strategy"] = text or "(no strategy stated)"
        if all(state["agents"][n]["strategy"] for n in state["roles"]):
            state["stage"] = "act"
        return state

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        p, res = state["params"], state["resources"]
        start = dict(res)
        chains = {n: list(t) for n, t in state["traces"].items()}
        donations = []
        fractions = []
        # Each agent is in exactly one pair per round, so simultaneous gifts cannot interfere.
        for donor, recipient in self.pairs(state):
            action = actions[donor]
            give_fraction = action["give_fraction"]
            punish_fraction = action.get("punish_fraction", 0.0) if p["punishment"] else 0.0
            given = round(give_fraction * start[donor], 4)
            punished = round(punish_fraction * start[donor], 4)
            received = round(p["multiplier"] * given, 4)
            before = res[recipient] + received
            after = round(max(0.0, before - p["punish_multiplier"] * punished), 4)
            res[donor] = round(res[donor] - given - punished, 4)
            res[recipient] = after
            entry = {
                "generation": state["generation"],
                "round": state["round"],
                "donor": donor,
                "recipient": recipient,
                "give_fraction": give_fraction,
                "given": given,
                "received": received,
                "punish_fraction": punish_fraction,
                "punished": punished,
                "recipient_lost": round(before - after, 4),
            }
            donations.append(entry)
            # The donor's chain: its recipient's chain as it was before this round, then its own action.
            keep = max(p["trace_length"], 1)
            state["traces"][donor] = (chains[recipient] + [entry])[-keep:]
            fractions.append(give_fraction)
            if punished > 0:
                state["punishments"] += 1
        report = {
            "generation": state["generation"],
            "round": state["round"],
            "donations": donations,
            "resources": dict(res),
        }
        state["round_log"].append({
            "generation": state["generation"],
            "round": state["round"],
            "donation_fraction": round(mean(fractions), 6),
            "mean_resources": mean(list(state["resources"].values())),
        })
        self._end_round(state, report)
        return state, report

    def _end_round(self, state: dict, report: dict) -> None:
        p = state["params"]
        state.update({"round": state["round"] + 1, "global_round": state["global_round"] + 1})
        if state["round"] <= p["rounds_per_generation"]:
            return
        report["generation_result"] = self._end_generation(state)

    def _end_generation(self, state: dict) -> dict:
        p, roles, res = state["params"], state["roles"], state["resources"]
        generation = state["generation"]
        ranked = sorted(roles, key=lambda n: (-res[n], roles.index(n)))
        keep = len(roles) // 2
        result = {
            "generation": generation,
            "mean_resources": mean(list(res.values())),
            "resources": dict(res),
            "survivors": ranked[:keep],
            "replaced": [],
        }
        state["generation_results"].append(result)
        if generation >= p["generations"]:
            self._finish(state, f"all {p['generations']} generations played")
            return result
        result["replaced"] = ranked[keep:]
        state["advice"] = [state["agents"][n]["strategy"] for n in ranked[:keep] if state["agents"][n]["strategy"]]
        for name in ranked[keep:]:
            state["agents"][name] = {"id": f"g{generation + 1}-{name}", "born": generation + 1, "strategy": ""}
        state["traces"] = {n: [] for n in roles}
        state["resources"] = {n: p["initial_resources"] for n in roles}
        state.update({"generation": generation + 1, "round": 1, "order": shuffled(roles, state["seed"], generation + 1)})
        self._start_generation(state)
        return result

    def metrics(self, state: dict) -> dict:
        all_fractions = [r["donation_fraction"] for r in state["round_log"]]
        return {
            "generations_completed": len(state["generation_results"]),
            "rounds_played": len(state["round_log"]),
            "donation_fraction_per_round": all_fractions,
            "mean_donation_fraction": mean(all_fractions),
            "mean_final_resources_per_generation": [g["mean_resources"] for g in state["generation_results"]],
            "mean_resources": mean(list(state["resources"].values())),
            "punishments": state["punishments"],
            "strategies": {n: a["strategy"] for n, a in state["agents"].items()},
        }

    def chart(self, state: dict) -> dict:
        log = state["round_log"]
        return {
            "type": "line",
            "title": "Mean resources after each round",
            "x": list(range(1, len(log) + 1)),
            "series": [{"name": "Mean resources", "values": [r["mean_resources"] for r in log]}],
        }
