"""Public goods game, sequential or simultaneous: the standard game, and the
MAC-SPGG reward ("Everyone Contributes!") as a separate, named variant."""

from __future__ import annotations

import random

from collab.engine.params import Param, count

from .base import Scenario, mean, register


@register
class PublicGoods(Scenario):
    """n agents each receive an endowment e per round and contribute c_i in
    [0, e] to a common pot; the pot is multiplied by r and shared equally:
    payoff_i = e - c_i + r * sum(c) / n. That is the standard game (reward
    "standard"), whose equilibrium is to contribute nothing when r < n: the
    baseline MAC-SPGG argues against.

    reward "mac_spgg" is MAC-SPGG's redesigned reward, built from the paper's
    four parts (individual cost, a cooperation bonus scaled by the
    predecessors' contributions, the equal share, a collective penalty):
    payoff_i = e - c_i + r * sum(c) / n + g * c_i * (1 + P_i / (n * e))
               - penalty * [sum(c) < B],  B = threshold_share * n * e,
    with P_i what the players before i gave this round. Contributing has a
    marginal return of r/n - 1 + g * (1 + P_i/(n*e)) > 0 whenever
    g > 1 - r/n, so every player contributing everything is the unique
    subgame-perfect equilibrium (the paper's claim for its reward).

    mode "sequential": agents act one at a time (one act step each, in role
    order, or a seeded shuffle per round with shuffle_order) and each sees
    its predecessors' contributions this round. mode "simultaneous": one act
    step for everyone, who see only previous rounds.

    Metrics: contribution_rate (mean c/e over all decisions), total_welfare
    (sum of all payoffs), free_riding_count (decisions with
    c_i <= free_ride_fraction * e; with the default 0.0 that is c_i == 0).

    Default action: {"contribution": 0} (the agent keeps its endowment).
    """

    key = "public_goods"
    title = "Public goods game"
    summary = "Each round everyone pays into a pot that is multiplied and shared: cooperate or free ride."
    paper = "Everyone Contributes! Incentivizing Strategic Cooperation in Multi-LLM Systems via Sequential Public Goods Games (MAC-SPGG)"
    default_params = {
        "endowment": 10.0,
        "multiplier": 1.6,
        "rounds": 5,
        "mode": "sequential",
        "free_ride_fraction": 0.0,
        "shuffle_order": False,
        "reward": "standard",
        "cooperation_bonus": 0.8,
        "threshold_share": 0.5,
        "penalty": 5.0,
    }
    param_help = {
        "endowment": "Units each agent receives per round.",
        "multiplier": "The pot is multiplied by this and shared equally (a dilemma when 1 < r < n).",
        "rounds": "Number of rounds.",
        "mode": "sequential (each sees its predecessors' contributions this round) or simultaneous.",
        "free_ride_fraction": "A contribution at or below this share of the endowment counts as free riding.",
        "shuffle_order": "In sequential mode, shuffle the order of play each round (seeded).",
        "reward": "standard (e - c + r * sum / n) or mac_spgg (MAC-SPGG's reward: cooperation bonus and "
                  "collective penalty, under which contributing is the equilibrium).",
        "cooperation_bonus": "mac_spgg only: g, the bonus per unit contributed, scaled up by predecessors' giving.",
        "threshold_share": "mac_spgg only: the group is penalised when the pot is below this share of n * e.",
        "penalty": "mac_spgg only: what every player loses when the pot is below the threshold.",
    }
    params_schema = (
        Param("endowment", "float", min=0.01, max=1e9, step=0.01),
        Param("multiplier", "float", min=0.0, max=1000.0, step=0.1),
        count("rounds", "", 1, 200),
        Param("mode", "choice", choices=("sequential", "simultaneous")),
        Param("free_ride_fraction", "float", min=0.0, max=1.0, step=0.05),
        Param("shuffle_order", "bool"),
        Param("reward", "choice", choices=("standard", "mac_spgg")),
        Param("cooperation_bonus", "float", min=0.0, max=100.0, step=0.1),
        Param("threshold_share", "float", min=0.0, max=1.0, step=0.05),
        Param("penalty", "float", min=0.0, max=1e9, step=0.5),
    )
    default_roles = [
        {"name": f"Player {i}", "persona": "A member of a group sharing a common project.",
         "goals": "End with as many units as possible."}
        for i in range(1, 5)
    ]
    strategies = ["cooperator", "free_rider", "conditional"]
    min_roles = 2

    def check_params(self, p: dict) -> None:
        self._range(p, "endowment", 0.01, 1e9)
        self._range(p, "multiplier", 0.0, 1000.0)
        self._range(p, "rounds", 1, 200)
        self._choice(p, "mode", ["sequential", "simultaneous"])
        self._range(p, "free_ride_fraction", 0.0, 1.0)
        self._choice(p, "reward", ["standard", "mac_spgg"])
        self._range(p, "cooperation_bonus", 0.0, 100.0)
        self._range(p, "threshold_share", 0.0, 1.0)
        self._range(p, "penalty", 0.0, 1e9)

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        state = self._base_state(p, names, seed)
        state.update({
            "stage": "act",
            "round": 1,
            "order": self._order(p, names, seed, 1),
            "turn": 0,
            "current": {},
            "history": [],
            "payoffs": {n: 0.0 for n in names},
        })
        return state

    def _order(self, p: dict, names: list[str], seed: int, round_no: int) -> list[str]:
        order = list(names)
        if p["mode"] == "sequential" and p["shuffle_order"]:
            random.Random(f"{seed}:order:{round_no}").shuffle(order)
        return order

    def rules_text(self, state: dict) -> str:
        p = state["params"]
        n = len(state["roles"])
        text = (
            f"Public goods game with {n} players over {p['rounds']} rounds. Each round every player receives "
            f"{p['endowment']:g} units and chooses how many to contribute to a common pot (0 to {p['endowment']:g}). "
            f"The pot is multiplied by {p['multiplier']:g} and shared equally among all {n} players, whatever they "
            f"contributed. Your round payoff = {p['endowment']:g} - your contribution + "
            f"{p['multiplier']:g} x total contributions / {n}"
        )
        if p["reward"] == "mac_spgg":
            text += (f" + a cooperation bonus of {p['cooperation_bonus']:g} x your contribution x (1 + what the "
                     f"players before you gave this round / {n * p['endowment']:g}); if the pot is below "
                     f"{p['threshold_share'] * n * p['endowment']:g} every player loses {p['penalty']:g}. ")
        else:
            text += ". "
        if p["mode"] == "sequential":
            text += "Players contribute one after another and each sees what the players before them gave this round."
        else:
            text += "Players contribute at the same time without seeing each other's choice this round."
        return text

    def next_step(self, state: dict) -> dict | None:
        if state["stage"] != "act":
            return None
        if state["params"]["mode"] == "simultaneous":
            return {"phase": "act", "actors": list(state["roles"]), "simultaneous": True, "round": state["round"]}
        return {"phase": "act", "actors": [state["order"][state["turn"]]], "simultaneous": False,
                "round": state["round"]}

    def observation(self, state: dict, role_name: str) -> str:
        p = state["params"]
        lines = [f"You are {role_name}. Round {state['round']} of {p['rounds']}.",
                 f"Your total payoff so far: {state['payoffs'][role_name]:g}."]
        for h in state["history"][-3:]:
            gave = ", ".join(f"{n} {c:g}" for n, c in h["contributions"].items())
            lines.append(f"Round {h['round']}: contributions {gave}; pot {h['total']:g}, each received "
                         f"{h['share']:g}; your payoff {h['payoffs'][role_name]:g}.")
        if p["mode"] == "sequential" and state["stage"] == "act":
            position = state["order"].index(role_name)
            before = state["order"][:position]
            lines.append(f"You are number {position + 1} of {len(state['order'])} to contribute this round.")
            if before:
                lines.append("Contributions so far this round: "
                             + ", ".join(f"{n} {state['current'][n]:g}" for n in before if n in state["current"]))
            else:
                lines.append("You are first this round.")
        lines.append(f"How much of your {p['endowment']:g} units do you contribute?")
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        e = state["params"]["endowment"]
        return {
            "type": "object",
            "properties": {"contribution": {"type": "number", "minimum": 0, "maximum": e,
                                            "description": f"Units you put in the pot (0 to {e:g})."}},
            "required": ["contribution"],
        }

    def default_action(self, state: dict, role_name: str) -> dict:
        return {"contribution": 0}

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        e = state["params"]["endowment"]
        if strategy == "cooperator":
            return {"contribution": e}
        if strategy == "free_rider":
            return {"contribution": 0}
        if strategy != "conditional":
            raise ValueError(f"{self.key}: unknown strategy {strategy!r}; known: {', '.join(self.strategies)}")
        seen = [c for n, c in state["current"].items() if n != role_name]
        if not seen and state["history"]:
            seen = [c for n, c in state["history"][-1]["contributions"].items() if n != role_name]
        return {"contribution": round(mean(seen), 4) if seen else e / 2}

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        return ""

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        for name, action in actions.items():
            state["current"][name] = action["contribution"]
        report = {"round": state["round"], "contributed": {n: a["contribution"] for n, a in actions.items()}}
        if len(state["current"]) < len(state["roles"]):
            state["turn"] += 1
            return state, report
        report["result"] = self._settle(state)
        return state, report

    def _settle(self, state: dict) -> dict:
        p, roles = state["params"], state["roles"]
        e, n = p["endowment"], len(roles)
        contributions = {name: state["current"][name] for name in state["order"]}
        total = sum(contributions.values())
        share = round(p["multiplier"] * total / n, 6)
        payoffs = {name: round(e - contributions[name] + share, 6) for name in roles}
        bonuses: dict[str, float] = {}
        penalised = False
        if p["reward"] == "mac_spgg":
            before = 0.0
            for name in state["order"]:
                bonuses[name] = round(p["cooperation_bonus"] * contributions[name] * (1 + before / (n * e)), 6)
                before += contributions[name]
            penalised = total < p["threshold_share"] * n * e
            payoffs = {name: round(payoffs[name] + bonuses[name] - (p["penalty"] if penalised else 0.0), 6)
                       for name in roles}
        for name in roles:
            state["payoffs"][name] = round(state["payoffs"][name] + payoffs[name], 6)
        record = {"round": state["round"], "order": list(state["order"]), "contributions": contributions,
                  "total": total, "share": share, "payoffs": payoffs}
        if p["reward"] == "mac_spgg":
            record.update({"bonuses": bonuses, "penalised": penalised})
        state["history"].append(record)
        next_round = state["round"] + 1
        state.update({"round": next_round, "turn": 0, "current": {}})
        if next_round > p["rounds"]:
            self._finish(state, f"all {p['rounds']} rounds played")
        else:
            state["order"] = self._order(p, roles, state["seed"], next_round)
        return record

    def metrics(self, state: dict) -> dict:
        p, history = state["params"], state["history"]
        e = p["endowment"]
        decisions = [c for h in history for c in h["contributions"].values()]
        return {
            "rounds_played": len(history),
            "contribution_rate": mean([c / e for c in decisions]),
            "contribution_rate_per_round": [mean([c / e for c in h["contributions"].values()]) for h in history],
            "total_welfare": round(sum(state["payoffs"].values()), 6),
            "payoffs": dict(state["payoffs"]),
            "free_riding_count": sum(1 for c in decisions if c <= p["free_ride_fraction"] * e),
        }

    def chart(self, state: dict) -> dict:
        history = state["history"]
        series = [{"name": n, "values": [h["contributions"][n] for h in history]} for n in state["roles"]]
        series.append({"name": "Mean", "values": [mean(list(h["contributions"].values())) for h in history]})
        return {"type": "line", "title": "Contributions per round", "x": [h["round"] for h in history],
                "series": series}
