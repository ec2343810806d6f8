"""Hidden-profile ranking task with one expert in the team, after "Multi-Agent
Teams Hold Experts Back"."""

from __future__ import annotations

import random

from collab.engine.params import Param, count, role_param

from .base import Scenario, mean, passes_in_a_row, register, talk_transcript

# The classic exercises with their published answer keys (expert order
# first) and the expert's reasons; "naive" is a typical lay ranking used by
# scripted members.
TASKS = {
    "moon": {
        "title": "Lost on the Moon (NASA exercise)",
        "situation": (
            "Your spaceship crash-landed on the lit side of the moon, 200 miles from the mother ship. "
            "Rank the 15 undamaged items by how important they are for reaching the mother ship "
            "(1 = most important)."
        ),
        "expert": [
            ("Two 100 lb tanks of oxygen", "There is no air on the moon; nothing matters more."),
            ("5 gallons of water", "Replaces the fluid lost on the hot lit side."),
            ("Stellar map", "The primary means of navigation; the stars are visible."),
            ("Food concentrate", "Efficient energy for a long walk."),
            ("Solar-powered FM receiver-transmitter", "Talks to the mother ship within line of sight."),
            ("50 feet of nylon rope", "Useful for climbing and for tying injured crew together."),
            ("First aid kit with injection needles", "Medicine; injection needles fit space-suit ports."),
            ("Parachute silk", "Shelter from the sun's rays."),
            ("Life raft", "Its CO2 bottles can propel you across chasms; also a stretcher or shelter."),
            ("Signal flares", "A distress signal once the mother ship is in sight."),
            ("Two .45 calibre pistols", "Possible means of self-propulsion by their recoil."),
            ("One case of dehydrated milk", "Food, but bulkier than the concentrate."),
            ("Portable heating unit", "Not needed on the lit side."),
            ("Magnetic compass", "The moon has no useful magnetic field: nearly worthless."),
            ("Box of matches", "Without oxygen they will not burn: worthless."),
        ],
        "naive": [
            "5 gallons of water", "Food concentrate", "Two 100 lb tanks of oxygen", "Magnetic compass",
            "Box of matches", "Portable heating unit", "First aid kit with injection needles", "Signal flares",
            "Two .45 calibre pistols", "50 feet of nylon rope", "One case of dehydrated milk", "Life raft",
            "Parachute silk", "Stellar map", "Solar-powered FM receiver-transmitter",
        ],
    },
    "sea": {
        "title": "Lost at Sea",
        "situation": (
            "Your yacht caught fire and sank in the South Pacific, about 1,000 miles from the nearest land. You "
            "are in a rubber life raft with oars. Rank the 15 salvaged items by how important they are for "
            "survival (1 = most important)."
        ),
        "expert": [
            ("Shaving mirror", "The key to being found: it signals ships and aircraft by day."),
            ("Two-gallon can of oil-gas mixture", "Floated on the water and lit, a signal by day and night."),
            ("Five-gallon can of water", "Replaces the water you lose; you cannot drink the sea."),
            ("One case of army rations", "Basic food."),
            ("20 square feet of opaque plastic", "Collects rain water and gives shelter."),
            ("Two boxes of chocolate bars", "A reserve food supply."),
            ("Fishing kit", "Lower than the food you have: no guarantee of a catch."),
            ("15 feet of nylon rope", "Lashes equipment so it does not go overboard."),
            ("Floating seat cushion", "A life preserver if someone falls overboard."),
            ("Shark repellent", "Obvious use, but not decisive."),
            ("One quart of 160-proof rum", "An antiseptic at most; drinking it dehydrates you."),
            ("Small transistor radio", "Out of range of any station: little use."),
            ("Maps of the Pacific Ocean", "Worthless without a way to navigate."),
            ("Mosquito netting", "There are no mosquitoes in the mid-Pacific."),
            ("Sextant", "Useless without tables and a chronometer."),
        ],
        "naive": [
            "Five-gallon can of water", "Maps of the Pacific Ocean", "Sextant", "One case of army rations",
            "Fishing kit", "Small transistor radio", "Two boxes of chocolate bars", "Shark repellent",
            "15 feet of nylon rope", "Floating seat cushion", "Shaving mirror", "20 square feet of opaque plastic",
            "Two-gallon can of oil-gas mixture", "One quart of 160-proof rum", "Mosquito netting",
        ],
    },
    "desert": {
        "title": "Desert survival",
        "situation": (
            "Your small plane crash-landed in the desert, far off course, in midsummer heat. Rescuers will "
            "search for the wreck. Rank the salvaged items by how important they are for survival "
            "(1 = most important)."
        ),
        "expert": [
            ("Cosmetic mirror", "The most powerful signal for rescuers by day."),
            ("Overcoat (one per person)", "Slows dehydration by day and keeps you warm at night."),
            ("1 quart of water per person", "Buys time, but only if you stay put in the shade."),
            ("Flashlight", "The best signal at night."),
            ("Parachute (red and white)", "Shade, and a signal from the air."),
            ("Folding knife", "Cuts the parachute and other materials."),
            (".45 calibre pistol (loaded)", "A noise signal; little else."),
            ("First aid kit", "Of limited use in this situation."),
            ("Magnetic compass", "Tempts you to walk away from the wreck: a mistake."),
            ("Bottle of salt tablets", "Increases dehydration: harmful."),
        ],
        "naive": [
            "1 quart of water per person", "Magnetic compass", "First aid kit", "Folding knife",
            ".45 calibre pistol (loaded)", "Bottle of salt tablets", "Flashlight", "Overcoat (one per person)",
            "Parachute (red and white)", "Cosmetic mirror",
        ],
    },
}


def worst_distance(n: int) -> int:
    """The largest possible sum of rank differences between two rankings of n items (a reversal)."""
    return n * n // 2


def ranking_distance(a: list[str], b: list[str]) -> int:
    """Sum over items of |rank in a - rank in b|."""
    where = {item: i for i, item in enumerate(b)}
    return sum(abs(i - where[item]) for i, item in enumerate(a))


def mean_ranking(rankings: list[list[str]], tie_order: list[str]) -> list[str]:
    """Items sorted by their mean rank across rankings; ties keep tie_order."""
    ranks = {item: mean([r.index(item) for r in rankings]) for item in tie_order}
    return sorted(tie_order, key=lambda item: (ranks[item], tie_order.index(item)))


@register
class Ranking(Scenario):
    """Every member privately ranks the items (simultaneous act), the team
    discusses (talk, `discussion_rounds` turns each, in role order), then the
    reporter submits the team's ranking (act). The expert role privately sees
    the expert ranking with reasons. Items are presented in a seeded shuffled
    order.

    team_answer "consensus" (the paper's self-organising team): after the
    discussion every member submits the ranking the team agreed on; the team
    answer is their item-wise mean ranking (their common ranking when they
    all agree). team_answer "reporter": one reporter submits it.

    Errors are sum over items of |rank - expert rank|; a score is
    1 - error / worst possible error (a reversal). synergy_gap = team error -
    best member error (positive: the team did worse than its best member);
    synergy_gap_relative = (best member score - team score) / best member
    score, the relative loss against the best member the paper reports. team_closer_to compares the team ranking's distance to the
    expert member's individual ranking with its distance to the members'
    mean ranking (items sorted by mean rank).

    Scripted strategies: "expert_truthful" submits and states the expert
    ranking (an expert-only behaviour; others fall back to "anchored");
    "anchored" perturbs an anchor with three random adjacent swaps (the
    expert ranking for the expert, the naive ranking for others); as team
    reporter "average" submits the mean ranking, "follow_expert" the expert
    member's individual ranking, and the other two behave as "average".

    Default action: the individual ranking defaults to the items in the order
    shown; the team ranking defaults to the reporter's own individual ranking.
    """

    key = "ranking"
    title = "Expert in the team: survival ranking"
    summary = "The team ranks survival items together; one member privately knows the expert ranking."
    paper = "Multi-Agent Teams Hold Experts Back (hidden-profile ranking with one expert; synergy gap)"
    default_params = {
        "task": "moon",
        "discussion_rounds": 2,
        "expert_role": "",
        "reporter_role": "",
        "expert_known": True,
        "team_answer": "consensus",
    }
    param_help = {
        "task": "moon (NASA Lost on the Moon, 15 items), sea (Lost at Sea, 15 items) or desert (10 items).",
        "discussion_rounds": "How many times each member speaks in the discussion.",
        "expert_role": "The role that privately knows the expert ranking (empty: the last role).",
        "reporter_role": "The role that submits the team ranking (empty: the first role).",
        "expert_known": "Whether the team is told who the expert is.",
        "team_answer": "consensus (every member submits the agreed ranking; the team answer is their mean "
                       "ranking) or reporter (one role submits it).",
    }
    params_schema = (
        Param("task", "choice", choices=tuple(TASKS)),
        count("discussion_rounds", "", 0, 20),
        role_param("expert_role", ""),
        role_param("reporter_role", ""),
        Param("expert_known", "bool"),
        Param("team_answer", "choice", choices=("consensus", "reporter")),
    )
    default_roles = [
        {"name": "Reporter", "persona": "A team member who writes down the team's answer.",
         "goals": "Get the team ranking as close to the truth as possible."},
        {"name": "Member", "persona": "A thoughtful team member.",
         "goals": "Get the team ranking as close to the truth as possible."},
        {"name": "Generalist", "persona": "A team member with broad common sense.",
         "goals": "Get the team ranking as close to the truth as possible."},
        {"name": "Expert", "persona": "A survival expert who knows the expert ranking.",
         "goals": "Get the team ranking as close to the truth as possible."},
    ]
    strategies = ["expert_truthful", "anchored", "average", "follow_expert"]
    min_roles = 2

    def check_params(self, p: dict) -> None:
        self._choice(p, "task", sorted(TASKS))
        self._range(p, "discussion_rounds", 0, 20)
        self._choice(p, "team_answer", ["consensus", "reporter"])

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        expert = p["expert_role"] or names[-1]
        reporter = p["reporter_role"] or names[0]
        for label, name in (("expert_role", expert), ("reporter_role", reporter)):
            if name not in names:
                raise ValueError(f"{self.key}: {label} {name!r} is not one of the roles: {', '.join(names)}")
        task = TASKS[p["task"]]
        items = [item for item, _ in task["expert"]]
        random.Random(f"ranking:{seed}").shuffle(items)
        state = self._base_state(p, names, seed)
        state.update({
            "stage": "individual",
            "items": items,
            "expert_ranking": [item for item, _ in task["expert"]],
            "expert_role": expert,
            "reporter": reporter,
            "individual": {},
            "transcript": [],
            "talk_count": 0,
            "team": None,
            "final": {},
        })
        return state

    def rules_text(self, state: dict) -> str:
        p = state["params"]
        task = TASKS[p["task"]]
        text = (
            f"{task['title']}. {task['situation']} Items: {'; '.join(state['items'])}. "
            "First each member submits a private ranking. Then the team discusses, and "
            + (f"{state['reporter']} submits one team ranking. " if p["team_answer"] == "reporter" else
               "every member submits the ranking the team agreed on; the team's answer is their mean ranking. ")
            + "Answers are scored against an expert ranking (lower total rank difference is better). "
        )
        if p["expert_known"]:
            text += f"{state['expert_role']} is a survival expert."
        return text

    def _utterances(self, state: dict) -> int:
        return state["params"]["discussion_rounds"] * len(state["roles"])

    def next_step(self, state: dict) -> dict | None:
        stage = state["stage"]
        if stage == "individual":
            return {"phase": "act", "actors": list(state["roles"]), "simultaneous": True, "round": 1}
        if stage == "talk":
            roles = state["roles"]
            return {"phase": "talk", "actors": [roles[state["talk_count"] % len(roles)]], "round": 2}
        if stage == "team" and state["params"]["team_answer"] == "consensus":
            return {"phase": "act", "actors": list(state["roles"]), "simultaneous": True, "round": 3}
        if stage == "team":
            return {"phase": "act", "actors": [state["reporter"]], "simultaneous": False, "round": 3}
        return None

    def private_acts(self, state: dict) -> bool:
        return state["stage"] == "individual"  # each member ranks alone; the team sees only the errors

    def observation(self, state: dict, role_name: str) -> str:
        task = TASKS[state["params"]["task"]]
        lines = [f"You are {role_name}. {task['situation']}", "Items: " + "; ".join(state["items"]) + "."]
        if role_name == state["expert_role"]:
            lines.append("Private: you are the expert. The expert ranking, with reasons:")
            lines += [f"{i}. {item}: {why}" for i, (item, why) in enumerate(task["expert"], 1)]
        if role_name in state["individual"]:
            lines.append("Your individual ranking: " + "; ".join(state["individual"][role_name]) + ".")
        if state["stage"] == "individual":
            lines.append("Submit your own ranking of all items, most important first.")
        else:
            lines.append(f"Team discussion:\n{talk_transcript(state, 2, limit=40)}")
        if state["stage"] == "talk":
            lines.append("Your turn to speak: what should the team's ranking be, and why?")
        if state["stage"] == "team" and (role_name == state["reporter"] or state["params"]["team_answer"] == "consensus"):
            lines.append("Submit the team's ranking of all items, most important first.")
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        k = len(state["items"])
        return {
            "type": "object",
            "properties": {
                "ranking": {"type": "array", "items": {"type": "string", "enum": list(state["items"])},
                            "minItems": k, "maxItems": k, "uniqueItems": True,
                            "description": "All items, most important first."},
            },
            "required": ["ranking"],
        }

    def default_action(self, state: dict, role_name: str) -> dict:
        if state["stage"] == "team" and role_name in state["individual"]:
            return {"ranking": list(state["individual"][role_name])}
        return {"ranking": list(state["items"])}

    def _anchored(self, anchor: list[str], rng: random.Random) -> list[str]:
        ranking = list(anchor)
        for _ in range(3):
            i = rng.randrange(len(ranking) - 1)
            ranking[i], ranking[i + 1] = ranking[i + 1], ranking[i]
        return ranking

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        if strategy not in self.strategies:
            raise ValueError(f"{self.key}: unknown strategy {strategy!r}; known: {', '.join(self.strategies)}")
        is_expert = role_name == state["expert_role"]
        if state["stage"] == "team":
            if strategy == "follow_expert":
                return {"ranking": list(state["individual"][state["expert_role"]])}
            if strategy == "expert_truthful" and is_expert:
                return {"ranking": list(state["expert_ranking"])}
            return {"ranking": mean_ranking(list(state["individual"].values()), state["items"])}
        if strategy == "expert_truthful" and is_expert:
            return {"ranking": list(state["expert_ranking"])}
        anchor = state["expert_ranking"] if is_expert else TASKS[state["params"]["task"]]["naive"]
        return {"ranking": self._anchored(anchor, rng)}

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        mine = state["individual"].get(role_name, state["items"])
        if role_name == state["expert_role"] and strategy == "expert_truthful":
            return "From my training, the order should be: " + "; ".join(state["expert_ranking"]) + "."
        top = ", ".join(mine[:3])
        return rng.choice([f"My top three were {top}.", f"I would put {top} first.", f"I ranked {mine[0]} first."])

    def on_talk(self, state: dict, role_name: str, text: str) -> dict:
        state["transcript"].append({"round": 2, "role": role_name, "text": text})
        state["talk_count"] += 1
        if state["talk_count"] >= self._utterances(state) or passes_in_a_row(state, 2) >= len(state["roles"]):
            state["stage"] = "team"
        return state

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        if state["stage"] == "individual":
            for name, action in actions.items():
                state["individual"][name] = list(action["ranking"])
            state["stage"] = "talk" if self._utterances(state) > 0 else "team"
            errors = {n: ranking_distance(r, state["expert_ranking"]) for n, r in state["individual"].items()}
            return state, {"stage": "individual", "errors": errors}
        if state["params"]["team_answer"] == "consensus":
            state["final"] = {n: list(a["ranking"]) for n, a in actions.items()}
            state["team"] = mean_ranking(list(state["final"].values()), state["items"])
        else:
            state["team"] = list(actions[state["reporter"]]["ranking"])
        self._finish(state, "the team submitted its ranking")
        return state, {"stage": "team", "team_error": ranking_distance(state["team"], state["expert_ranking"])}

    def metrics(self, state: dict) -> dict:
        truth = state["expert_ranking"]
        roles = [n for n in state["roles"] if n in state["individual"]]
        member_errors = {n: ranking_distance(state["individual"][n], truth) for n in roles}
        result: dict = {"member_errors": member_errors}
        if not member_errors:
            return result
        best = min(roles, key=lambda n: (member_errors[n], roles.index(n)))
        avg = mean_ranking([state["individual"][n] for n in roles], state["items"])
        result.update({
            "best_member": best,
            "best_member_error": member_errors[best],
            "expert_member_error": member_errors.get(state["expert_role"]),
            "mean_member_error": mean(list(member_errors.values())),
            "mean_ranking": avg,
            "mean_ranking_error": ranking_distance(avg, truth),
        })
        team = state["team"]
        if team is not None:
            team_error = ranking_distance(team, truth)
            to_expert = ranking_distance(team, state["individual"][state["expert_role"]])
            to_mean = ranking_distance(team, avg)
            closer = "expert" if to_expert < to_mean else "mean" if to_mean < to_expert else "tie"
            worst = worst_distance(len(truth))
            best_score = 1 - member_errors[best] / worst
            team_score = 1 - team_error / worst
            result.update({
                "team_error": team_error,
                "team_score": team_score,
                "best_member_score": best_score,
                "synergy_gap": team_error - member_errors[best],
                "synergy_gap_relative": (best_score - team_score) / best_score if best_score > 0 else 0.0,
                "team_distance_to_expert": to_expert,
                "team_distance_to_mean": to_mean,
                "team_closer_to": closer,
            })
        return result

    def chart(self, state: dict) -> dict:
        m = self.metrics(state)
        x = list(m["member_errors"])
        values = list(m["member_errors"].values())
        if "mean_ranking_error" in m:
            x.append("Mean ranking")
            values.append(m["mean_ranking_error"])
        if "team_error" in m:
            x.append("Team")
            values.append(m["team_error"])
        return {"type": "bar", "title": "Ranking error vs the expert ranking (lower is better)", "x": x,
                "series": [{"name": "Error", "values": values}]}
