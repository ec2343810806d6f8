"""Common-pool fishery, after GovSim ("Cooperate or Collapse")."""

from __future__ import annotations

import random

from collab.engine.params import Param, count

from .base import Scenario, mean, passes_in_a_row, register, talk_transcript


def harvest(stock: int, wanted: dict[str, int], order: list[str], rng: random.Random) -> dict[str, int]:
    """Everyone gets what they asked when the lake holds enough; otherwise the
    tons are handed out one at a time to a random fisher who still wants more."""
    if sum(wanted.values()) <= stock:
        return {name: wanted[name] for name in order}
    caught = {name: 0 for name in order}
    for _ in range(stock):
        hungry = [name for name in order if caught[name] < wanted[name]]
        caught[rng.choice(hungry)] += 1
    return caught


def equality(gains: list[float]) -> float:
    """1 - Gini: 1 - sum_ij |R_i - R_j| / (2 n sum_i R_i); 1.0 when nobody gained anything."""
    total = sum(gains)
    if total <= 0:
        return 1.0
    spread = sum(abs(a - b) for a in gains for b in gains)
    return 1 - spread / (2 * len(gains) * total)


@register
class Fishery(Scenario):
    """Fishers share a lake. Each month: every fisher privately chooses a catch
    (simultaneous act), the group discusses (talk, fishers in order, up to
    max_utterances), then each fisher reflects (reflect). The last month ends
    right after its harvest, with no talk or reflection.

    Harvest: if total demand exceeds the stock, tons are handed out one at a
    time to a random fisher (the rng given to apply) who still wants more.
    If fewer than collapse_threshold tons remain the lake collapses and the
    game ends; otherwise the stock doubles, capped at capacity.

    Metrics: survival_time (month of collapse, else months played), survived,
    gains, efficiency = 1 - max(0, T*f0 - total_gain) / (T*f0) with T the
    `months` parameter and f0 = capacity / 2 (50 by default: the most the
    group can take from a full lake each month and still see it refill),
    equality (1 - Gini over gains), over_usage (share of fisher-month
    requests above (R_t // 2) // n, R_t the stock at the start of that month).

    Default action: {"catch": 0} (the fisher stays ashore this month).
    """

    key = "fishery"
    title = "Fishery commons"
    summary = "Fishers share a lake that refills each month: take too much and it collapses."
    paper = "Cooperate or Collapse: Emergence of Sustainable Cooperation in a Society of LLM Agents (GovSim)"
    default_params = {
        "months": 12,
        "initial_stock": 100,
        "capacity": 100,
        "max_utterances": 10,
        "collapse_threshold": 5,
        "reflect": True,
    }
    param_help = {
        "months": "Number of months (the game ends earlier if the lake collapses).",
        "initial_stock": "Tons of fish in the lake at the start.",
        "capacity": "Most tons the lake can hold; the stock doubles up to this after each harvest.",
        "max_utterances": "Most utterances in each month's discussion (0: no discussion).",
        "collapse_threshold": "The lake collapses when fewer tons than this remain after a harvest.",
        "reflect": "Whether fishers write a private reflection after each discussion.",
    }
    params_schema = (
        count("months", "", 1, 120),
        count("initial_stock", "", 0, 100_000),
        count("capacity", "", 1, 100_000),
        count("max_utterances", "", 0, 200),
        count("collapse_threshold", "", 0, 100_000),
        Param("reflect", "bool"),
    )
    default_roles = [
        {"name": name, "persona": f"{name}, a fisher who lives off this lake",
         "goals": "Earn a living from fishing over the long run."}
        for name in ("John", "Kate", "Jack", "Emma", "Luke")
    ]
    strategies = ["sustainable", "greedy", "mixed"]
    min_roles = 2

    def check_params(self, p: dict) -> None:
        self._range(p, "months", 1, 120)
        self._range(p, "capacity", 1, 100_000)
        self._range(p, "initial_stock", 0, p["capacity"])
        self._range(p, "max_utterances", 0, 200)
        self._range(p, "collapse_threshold", 0, p["capacity"])

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        state = self._base_state(p, names, seed)
        state.update({
            "stage": "act",
            "month": 1,
            "stock": p["initial_stock"],
            "history": [],
            "gains": {n: 0 for n in names},
            "transcript": [],
            "reflections": {n: [] for n in names},
            "talk_count": 0,
            "reflected": [],
            "collapsed": False,
        })
        return state

    def rules_text(self, state: dict) -> str:
        p = state["params"]
        n = len(state["roles"])
        return (
            f"You are one of {n} fishers ({', '.join(state['roles'])}) sharing a lake that holds at most "
            f"{p['capacity']} tons of fish. The game lasts up to {p['months']} months. Each month every fisher "
            "privately decides how many tons to catch; nobody sees the others' choices until the harvest. "
            "Each ton caught is income for you. If the fishers together ask for more than the lake holds, the "
            "remaining fish are handed out one ton at a time to random fishers who still want more. After the "
            f"harvest, if fewer than {p['collapse_threshold']} tons are left the lake collapses for good and "
            "nobody can fish again. Otherwise the fish reproduce: the stock doubles, up to the capacity of "
            f"{p['capacity']} tons. After each harvest the fishers discuss (up to {p['max_utterances']} "
            "utterances) and then each reflects privately."
        )

    def next_step(self, state: dict) -> dict | None:
        stage, month, roles = state["stage"], state["month"], state["roles"]
        if stage == "act":
            return {"phase": "act", "actors": list(roles), "simultaneous": True, "round": month}
        if stage == "talk":
            return {"phase": "talk", "actors": [roles[state["talk_count"] % len(roles)]], "round": month}
        if stage == "reflect":
            pending = [n for n in roles if n not in state["reflected"]]
            return {"phase": "reflect", "actors": pending, "simultaneous": True, "round": month}
        return None

    def _month_line(self, h: dict) -> str:
        catches = ", ".join(f"{n} {c}" for n, c in h["caught"].items())
        tail = "the lake collapsed" if h["collapsed"] else f"it regrew to {h['stock_after']} tons"
        return (f"Month {h['month']}: the lake held {h['stock_before']} tons; catches: {catches} "
                f"(total {h['total']}); {h['remaining']} tons were left and {tail}.")

    def observation(self, state: dict, role_name: str) -> str:
        p, month = state["params"], state["month"]
        lines = [f"You are {role_name}. Month {month} of {p['months']}."]
        lines.append(f"Your total catch so far: {state['gains'].get(role_name, 0)} tons.")
        past = state["history"][-6:]
        if past:
            lines.append("Harvest reports:")
            lines += [f"- {self._month_line(h)}" for h in past]
        if state["stage"] == "act":
            lines.append(f"The lake now holds {state['stock']} tons. How many tons do you catch this month?")
        elif state["stage"] in {"talk", "reflect"}:
            lines.append(f"Discussion this month:\n{talk_transcript(state, month)}")
            if state["stage"] == "talk":
                lines.append("Your turn to speak to the other fishers (an empty reply passes).")
            else:
                lines.append("Write a short private reflection: what did you learn, and what will you do next month?")
        notes = state["reflections"].get(role_name, [])[-3:]
        if notes:
            lines.append("Your recent reflections:")
            lines += [f"- month {r['month']}: {r['text']}" for r in notes]
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        return {
            "type": "object",
            "properties": {
                "catch": {"type": "integer", "minimum": 0, "maximum": state["stock"],
                          "description": "Tons of fish you catch this month."},
            },
            "required": ["catch"],
        }

    def default_action(self, state: dict, role_name: str) -> dict:
        return {"catch": 0}

    def _shares(self, state: dict) -> tuple[int, int]:
        stock, n = state["stock"], len(state["roles"])
        sustainable = (stock // 2) // n
        greedy = min(stock, max(sustainable + 1, (stock // n) * 2))
        return sustainable, greedy

    def _is_greedy(self, state: dict, role_name: str, strategy: str) -> bool:
        if strategy == "mixed":
            return state["roles"].index(role_name) % 2 == 0
        if strategy not in self.strategies:
            raise ValueError(f"{self.key}: unknown strategy {strategy!r}; known: {', '.join(self.strategies)}")
        return strategy == "greedy"

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        sustainable, greedy = self._shares(state)
        return {"catch": greedy if self._is_greedy(state, role_name, strategy) else sustainable}

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        greedy = self._is_greedy(state, role_name, strategy)
        stock = state["stock"]
        share = (stock // 2) // len(state["roles"])
        if state["stage"] == "reflect":
            if greedy:
                return f"The lake is at {stock} tons. Others may take more, so I will take a big share while I can."
            return f"The lake is at {stock} tons. Staying at {share} tons each keeps it refilling; I will stick to that."
        if greedy:
            return rng.choice([
                "I need a good catch; I will take what I can.",
                "There seem to be plenty of fish. I don't see why we should hold back.",
            ])
        return rng.choice([
            f"The lake holds {stock} tons. If each of us catches at most {share}, it refills to the full.",
            f"Let's agree on {share} tons each this month so the stock doubles back.",
        ])

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        p, month, roles = state["params"], state["month"], state["roles"]
        stock = state["stock"]
        wanted = {n: actions[n]["catch"] for n in roles}
        caught = harvest(stock, wanted, roles, rng)
        total = sum(caught.values())
        remaining = stock - total
        collapsed = remaining < p["collapse_threshold"]
        stock_after = remaining if collapsed else min(p["capacity"], 2 * remaining)
        record = {
            "month": month,
            "stock_before": stock,
            "requested": wanted,
            "caught": caught,
            "total": total,
            "remaining": remaining,
            "collapsed": collapsed,
            "stock_after": stock_after,
        }
        state["history"].append(record)
        for n in roles:
            state["gains"][n] += caught[n]
        state["stock"] = stock_after
        if collapsed:
            state["collapsed"] = True
            self._finish(state, f"the lake collapsed in month {month}: {remaining} tons left, "
                                f"below {p['collapse_threshold']}")
        elif month >= p["months"]:
            self._finish(state, f"all {p['months']} months played; the lake survived with {stock_after} tons")
        elif p["max_utterances"] > 0:
            state["stage"] = "talk"
        else:
            self._after_talk(state)
        return state, dict(record)

    def _after_talk(self, state: dict) -> None:
        if state["params"]["reflect"]:
            state["stage"] = "reflect"
        else:
            self._next_month(state)

    def _next_month(self, state: dict) -> None:
        state.update({"month": state["month"] + 1, "stage": "act", "talk_count": 0, "reflected": []})

    def on_talk(self, state: dict, role_name: str, text: str) -> dict:
        month = state["month"]
        state["transcript"].append({"round": month, "role": role_name, "text": text})
        state["talk_count"] += 1
        everyone_passed = passes_in_a_row(state, month) >= len(state["roles"])
        if state["talk_count"] >= state["params"]["max_utterances"] or everyone_passed:
            self._after_talk(state)
        return state

    def on_reflect(self, state: dict, role_name: str, text: str) -> dict:
        state["reflections"][role_name].append({"month": state["month"], "text": text})
        state["reflected"].append(role_name)
        if len(state["reflected"]) == len(state["roles"]):
            self._next_month(state)
        return state

    def metrics(self, state: dict) -> dict:
        p, roles, history = state["params"], state["roles"], state["history"]
        n = len(roles)
        gains = state["gains"]
        total_gain = sum(gains.values())
        reference = p["months"] * p["capacity"] / 2
        decisions = [
            (h["requested"][name], (h["stock_before"] // 2) // n) for h in history for name in roles
        ]
        over = sum(1 for asked, share in decisions if asked > share)
        return {
            "months_played": len(history),
            "survival_time": history[-1]["month"] if state["collapsed"] else len(history),
            "survived": not state["collapsed"],
            "gains": dict(gains),
            "total_gain": total_gain,
            "mean_gain": mean(list(gains.values())),
            "efficiency": 1 - max(0.0, reference - total_gain) / reference if reference else 0.0,
            "equality": equality([gains[name] for name in roles]),
            "over_usage": over / len(decisions) if decisions else 0.0,
            "final_stock": state["stock"],
        }

    def chart(self, state: dict) -> dict:
        history = state["history"]
        return {
            "type": "line",
            "title": "Lake and catches per month (tons)",
            "x": [h["month"] for h in history],
            "series": [
                {"name": "Lake at start of month", "values": [h["stock_before"] for h in history]},
                {"name": "Total catch", "values": [h["total"] for h in history]},
            ],
        }
