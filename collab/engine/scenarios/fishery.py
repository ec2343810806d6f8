"""Common-pool fishery, after GovSim ("Cooperate or Collapse")."""

from __future__ import annotations

import random
import re

from collab.engine.params import Param, count

from .base import Scenario, mean, passes_in_a_row, register, talk_transcript


def harvest(stock: int, wanted: dict[str, int], order: list[str], rng: random.Random) -> dict[str, int]:
    """GovSim's "stochastic" rationing: everyone gets what they asked when the
    lake holds enough; otherwise the tons are handed out one at a time to a
    random fisher who still wants more."""
    if sum(wanted.values()) <= stock:
        return {name: wanted[name] for name in order}
    caught = {name: 0 for name in order}
    for _ in range(stock):
        hungry = [name for name in order if caught[name] < wanted[name]]
        caught[rng.choice(hungry)] += 1
    return caught


def harvest_proportional(stock: int, wanted: dict[str, int], order: list[str], rng: random.Random) -> dict[str, int]:
    """GovSim's "proportional" rationing: when demand exceeds the stock each
    fisher gets floor(stock * wanted / total); the tons left by rounding go one
    at a time to fishers who were rounded down, drawn with weight by what
    they still want."""
    total = sum(wanted.values())
    if total <= stock:
        return {name: wanted[name] for name in order}
    caught = {name: min(wanted[name], stock * wanted[name] // total) for name in order}
    rounded_down = [name for name in order if caught[name] * total != stock * wanted[name]]
    for _ in range(stock - sum(caught.values())):
        hungry = [name for name in rounded_down if caught[name] < wanted[name]]
        if not hungry:
            break
        name = rng.choices(hungry, weights=[wanted[n] - caught[n] for n in hungry])[0]
        caught[name] += 1
        rounded_down.remove(name)
    return caught


RATIONING = {"stochastic": harvest, "proportional": harvest_proportional}
NEXT_SPEAKER = re.compile(r"next speaker\s*:\s*([\w .'-]+)", re.IGNORECASE)
TONS = re.compile(r"(\d+)\s*tons?\b", re.IGNORECASE)


def sustainable_share(stock: int, fishers: int) -> int:
    """GovSim's sustainability threshold: the most each fisher can take so the
    lake still refills to the full, (stock // 2) // n."""
    return (stock // 2) // fishers


def picked_speaker(text: str, speaker: str, roles: list[str]) -> str | None:
    """Whom a speaker hands the word to: a 'Next speaker: Name' line, else the
    last other fisher named in the text."""
    others = [name for name in roles if name != speaker]
    explicit = NEXT_SPEAKER.search(text)
    if explicit:
        chosen = explicit.group(1).strip().lower()
        for name in others:
            if chosen.startswith(name.lower()):
                return name
    found = [(m.start(), name) for name in others for m in re.finditer(rf"\b{re.escape(name)}\b", text)]
    return max(found)[1] if found else None


def spoken_limit(entries: list[dict]) -> int | None:
    """The limit a month's discussion settled on: the last 'N tons' a fisher said."""
    for entry in reversed(entries):
        numbers = TONS.findall(entry["text"]) if entry["role"] != MAYOR else []
        if numbers:
            return int(numbers[-1])
    return None


MAYOR = "Mayor"


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
    (simultaneous act), the group discusses (talk, up to max_utterances),
    then each fisher reflects (reflect). The last month ends right after its
    harvest, with no talk or reflection.

    Discussion "open" (GovSim): it starts from the mayor's report of every
    catch; the first fisher speaks, then each speaker picks the next (a
    "Next speaker: Name" line, else the last fisher named; if none, whoever
    has spoken least this month, in role order after the speaker). The
    limit the discussion settles on (the last "N tons" a fisher said) is
    remembered and shown the next month. Discussion "fixed": no report,
    fishers speak in role order (collab's earlier rule).

    Harvest: any request up to the lake's capacity is accepted; if total
    demand exceeds the stock it is rationed as in GovSim: "stochastic" hands
    tons out one at a time to a random fisher (the rng given to apply) who
    still wants more, "proportional" shares in proportion to the requests.
    If fewer than collapse_threshold tons remain the lake collapses and the
    game ends; otherwise the stock doubles, capped at capacity. As in GovSim
    the fishers are not told the collapse rule unless tell_collapse_rule;
    with universalization each month's prompt adds GovSim's "if everyone
    fishes more than X tons" sentence.

    Metrics: survival_time (month of collapse, else months played), survived,
    gains, efficiency = 1 - max(0, T*f0 - total_gain) / (T*f0) with T the
    `months` parameter and f0 = capacity / 2 (50 by default: the most the
    group can take from a full lake each month and still see it refill),
    equality (1 - Gini over gains), over_usage (share of fisher-month
    requests above GovSim's sustainability threshold (R_t // 2) // n, R_t the
    stock at the start of that month; the request, not the rationed catch).

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
        "rationing": "stochastic",
        "discussion": "open",
        "tell_collapse_rule": False,
        "universalization": False,
    }
    param_help = {
        "months": "Number of months (the game ends earlier if the lake collapses).",
        "initial_stock": "Tons of fish in the lake at the start.",
        "capacity": "Most tons the lake can hold; the stock doubles up to this after each harvest.",
        "max_utterances": "Most utterances in each month's discussion (0: no discussion).",
        "collapse_threshold": "The lake collapses when fewer tons than this remain after a harvest.",
        "reflect": "Whether fishers write a private reflection after each discussion.",
        "rationing": "How demand above the stock is shared: stochastic (one ton at a time to a random fisher, "
                     "GovSim's default) or proportional.",
        "discussion": "open (GovSim: the mayor's catch report, then each speaker picks the next) or fixed "
                      "(fishers speak in role order, no report).",
        "tell_collapse_rule": "Tell the fishers the collapse threshold (GovSim does not).",
        "universalization": "GovSim's universalization intervention: each month the fishers are told what "
                            "happens if everyone fishes more than the sustainable share.",
    }
    params_schema = (
        count("months", "", 1, 120),
        count("initial_stock", "", 0, 100_000),
        count("capacity", "", 1, 100_000),
        count("max_utterances", "", 0, 200),
        count("collapse_threshold", "", 0, 100_000),
        Param("reflect", "bool"),
        Param("rationing", "choice", choices=tuple(RATIONING)),
        Param("discussion", "choice", choices=("open", "fixed")),
        Param("tell_collapse_rule", "bool"),
        Param("universalization", "bool"),
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
        self._choice(p, "rationing", list(RATIONING))
        self._choice(p, "discussion", ["open", "fixed"])

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
            "speaker": None,
            "agreed_limit": None,
        })
        return state

    def rules_text(self, state: dict) -> str:
        p = state["params"]
        n = len(state["roles"])
        rationing = ("the remaining fish are handed out one ton at a time to random fishers who still want more"
                     if p["rationing"] == "stochastic" else "the fish are shared in proportion to what each asked")
        text = (
            f"You are one of {n} fishers ({', '.join(state['roles'])}) sharing a lake that holds at most "
            f"{p['capacity']} tons of fish. The game lasts up to {p['months']} months. Each month every fisher "
            "privately decides how many tons to catch; nobody sees the others' choices until the harvest. "
            f"Each ton caught is income for you. If the fishers together ask for more than the lake holds, {rationing}. "
        )
        if p["tell_collapse_rule"]:
            text += (f"After the harvest, if fewer than {p['collapse_threshold']} tons are left the lake collapses "
                     "for good and nobody can fish again. Otherwise the fish reproduce: ")
        else:
            text += "After the harvest the fish reproduce: "
        text += f"the stock doubles, up to the capacity of {p['capacity']} tons. "
        if p["max_utterances"]:
            text += f"After each harvest the fishers meet and discuss (up to {p['max_utterances']} utterances"
            text += ("; the mayor opens with the catch report and each speaker may name who speaks next, e.g. "
                     "'Next speaker: Name')." if p["discussion"] == "open" else ", in turn).")
        if p["reflect"]:
            text += " Then each reflects privately."
        return text

    def next_step(self, state: dict) -> dict | None:
        stage, month, roles = state["stage"], state["month"], state["roles"]
        if stage == "act":
            return {"phase": "act", "actors": list(roles), "simultaneous": True, "round": month}
        if stage == "talk":
            speaker = state.get("speaker") or roles[state["talk_count"] % len(roles)]
            return {"phase": "talk", "actors": [speaker], "round": month}
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
        limit = state.get("agreed_limit")
        if limit and state["stage"] == "act":
            lines.append(f"At the meeting in month {limit['month']} the fishers settled on {limit['tons']} tons.")
        if state["stage"] == "act":
            lines.append(f"The lake now holds {state['stock']} tons.")
            if p["universalization"]:
                share = sustainable_share(state["stock"], len(state["roles"]))
                lines.append(f"Given the current situation, if everyone fishes more than {share} tons, the lake "
                             "population will shrink next month.")
            lines.append("How many tons do you catch this month?")
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
                "catch": {"type": "integer", "minimum": 0, "maximum": state["params"]["capacity"],
                          "description": "Tons of fish you want to catch this month (shared out if the "
                                         "lake holds less than everyone asks)."},
            },
            "required": ["catch"],
        }

    def default_action(self, state: dict, role_name: str) -> dict:
        return {"catch": 0}

    def _shares(self, state: dict) -> tuple[int, int]:
        stock, n = state["stock"], len(state["roles"])
        sustainable = sustainable_share(stock, n)
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
        share = sustainable_share(stock, len(state["roles"]))
        if state["stage"] == "reflect":
            if greedy:
                return f"The lake is at {stock} tons. Others may take more, so I will take a big share while I can."
            return f"The lake is at {stock} tons. Staying at {share} tons each keeps it refilling; I will stick to that."
        if greedy:
            return rng.choice([
                "I need a good catch; I will take what I can.",
                "There seem to be plenty of fish. I don't see why we should hold back.",
            ])
        text = rng.choice([
            f"The lake holds {stock} tons. If each of us catches at most {share}, it refills to the full.",
            f"Let's agree on {share} tons each this month so the stock doubles back.",
        ])
        if state["params"]["discussion"] == "open":
            others = [n for n in state["roles"] if n != role_name]
            text += f" Next speaker: {rng.choice(others)}"
        return text

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        p, month, roles = state["params"], state["month"], state["roles"]
        stock = state["stock"]
        wanted = {n: actions[n]["catch"] for n in roles}
        caught = RATIONING[p["rationing"]](stock, wanted, roles, rng)
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
            if p["discussion"] == "open":
                report = ", ".join(f"{n} caught {caught[n]} tons" for n in roles)
                state["transcript"].append({"round": month, "role": MAYOR, "text": (
                    f"Monthly fishing report: {report}; the lake held {stock} tons and now holds {stock_after}.")})
                state["speaker"] = roles[0]
        else:
            self._after_talk(state)
        return state, dict(record)

    def _after_talk(self, state: dict) -> None:
        month = state["month"]
        limit = spoken_limit([e for e in state["transcript"] if e["round"] == month])
        if limit is not None:
            state["agreed_limit"] = {"month": month, "tons": limit}
        state["speaker"] = None
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
        if state["params"]["discussion"] == "open":
            state["speaker"] = picked_speaker(text, role_name, state["roles"]) or self._least_heard(state, role_name)
        everyone_passed = passes_in_a_row(state, month) >= len(state["roles"])
        if state["talk_count"] >= state["params"]["max_utterances"] or everyone_passed:
            self._after_talk(state)
        return state

    def _least_heard(self, state: dict, speaker: str) -> str:
        roles, month = state["roles"], state["month"]
        said = {n: 0 for n in roles}
        for entry in state["transcript"]:
            if entry["round"] == month and entry["role"] in said:
                said[entry["role"]] += 1
        start = roles.index(speaker) + 1
        ring = [roles[(start + i) % len(roles)] for i in range(len(roles))]
        return min((n for n in ring if n != speaker), key=lambda n: said[n], default=speaker)

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
            (h["requested"][name], sustainable_share(h["stock_before"], n)) for h in history for name in roles
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
