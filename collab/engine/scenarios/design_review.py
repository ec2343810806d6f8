"""Design-project proposal written by a panel of perspectives, after "Harnessing
Multi-Agent LLMs for Senior Design Projects"."""

from __future__ import annotations

import random

from .base import Scenario, clone, mean, passes_in_a_row, register, talk_transcript

LEVELS = ["Missing", "Developing", "Proficient", "Exemplary"]

DEFAULT_RUBRIC = [
    {"name": "Problem definition",
     "description": "The need, the users and measurable requirements are stated clearly.",
     "levels": LEVELS},
    {"name": "Technical feasibility",
     "description": "The approach can be built with the team's skills, budget and time; risks are named.",
     "levels": LEVELS},
    {"name": "Societal & ethical impact",
     "description": "Effects on people, safety, environment, equity and privacy are considered.",
     "levels": LEVELS},
    {"name": "Project plan",
     "description": "Milestones, roles, schedule and deliverables are realistic and complete.",
     "levels": LEVELS},
]

DEFAULT_BRIEF = (
    "Design a low-cost, solar-powered water purification unit for a rural school of 300 students "
    "without reliable grid power. Budget: 2,000 USD per unit; the team has two semesters."
)


@register
class DesignReview(Scenario):
    """Each role contributes its perspective in a discussion (talk, role order,
    `talk_rounds` turns each); then the project manager submits the proposal
    (act: {"proposal": str, "sections": {criterion: text}}). The game ends
    there. Scoring happens afterwards with `score(state, scores, scorer)`,
    called for an instructor or a judge, which returns a new state.

    Metrics: rubric scores per scorer (level indexes) and their normalised
    totals (0..1) when scored; perspective coverage (share of roles that
    said something non-empty), section coverage (share of rubric criteria
    whose section is non-empty).

    Default action: {"proposal": "", "sections": {}}: an empty proposal
    (it scores zero coverage; nothing is written on the manager's behalf).
    """

    key = "design_review"
    title = "Senior design proposal review"
    paper = "Harnessing Multi-Agent LLMs for Complex Engineering Problem-Solving: A Framework for Senior Design Projects"
    default_params = {
        "brief": DEFAULT_BRIEF,
        "rubric": DEFAULT_RUBRIC,
        "talk_rounds": 2,
        "manager_role": "",
    }
    param_help = {
        "brief": "The design brief the team works on.",
        "rubric": "Criteria: a list of {name, description, levels: [lowest .. highest]}.",
        "talk_rounds": "How many times each perspective speaks before the proposal.",
        "manager_role": "The role that writes the proposal (empty: the first role).",
    }
    default_roles = [
        {"name": "Project Manager",
         "persona": "Coordinates the team, keeps scope, schedule and budget realistic, and writes the proposal.",
         "goals": "A complete, realistic proposal that covers every rubric criterion."},
        {"name": "Problem Formulation",
         "persona": "Clarifies the need, the stakeholders and measurable requirements.",
         "goals": "A sharply defined problem with testable requirements."},
        {"name": "System Complexity",
         "persona": "Examines the technical architecture, interfaces, trade-offs and risks.",
         "goals": "A feasible design whose risks are understood."},
        {"name": "Societal & Ethical",
         "persona": "Weighs safety, equity, environmental and ethical consequences.",
         "goals": "A design that serves its community responsibly."},
    ]
    strategies = ["templated"]

    def check_params(self, p: dict) -> None:
        if not p["brief"].strip():
            raise ValueError(f"{self.key}: the design brief must not be empty")
        self._range(p, "talk_rounds", 0, 20)
        rubric = p["rubric"]
        if not rubric:
            raise ValueError(f"{self.key}: the rubric needs at least one criterion")
        names = []
        for i, criterion in enumerate(rubric):
            where = f"{self.key}: rubric criterion {i + 1}"
            if not isinstance(criterion, dict):
                raise ValueError(f"{where} must be an object with name, description and levels")
            name = criterion.get("name")
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"{where} needs a non-empty name")
            if not isinstance(criterion.get("description", ""), str):
                raise ValueError(f"{where} ({name}): description must be text")
            levels = criterion.get("levels")
            if not isinstance(levels, list) or len(levels) < 2 or not all(isinstance(x, str) for x in levels):
                raise ValueError(f"{where} ({name}): levels must be a list of at least two labels")
            names.append(name)
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: rubric criterion names must be unique")

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        manager = p["manager_role"] or names[0]
        if manager not in names:
            raise ValueError(f"{self.key}: manager_role {manager!r} is not one of the roles: {', '.join(names)}")
        state = self._base_state(p, names, seed)
        state.update({
            "stage": "talk" if p["talk_rounds"] > 0 else "proposal",
            "manager": manager,
            "talk_count": 0,
            "transcript": [],
            "proposal": None,
            "scores": {},
        })
        return state

    def _criteria(self, state: dict) -> list[str]:
        return [c["name"] for c in state["params"]["rubric"]]

    def rules_text(self, state: dict) -> str:
        rubric = "; ".join(f"{c['name']}: {c['description']}" for c in state["params"]["rubric"])
        return (
            f"Design brief: {state['params']['brief']}\n"
            f"The team ({', '.join(state['roles'])}) discusses the brief, each from its own perspective, for "
            f"{state['params']['talk_rounds']} round(s). Then {state['manager']} writes the proposal with one "
            f"section per rubric criterion. Rubric: {rubric}"
        )

    def next_step(self, state: dict) -> dict | None:
        if state["stage"] == "talk":
            roles = state["roles"]
            return {"phase": "talk", "actors": [roles[state["talk_count"] % len(roles)]],
                    "round": state["talk_count"] // len(roles) + 1}
        if state["stage"] == "proposal":
            return {"phase": "act", "actors": [state["manager"]], "simultaneous": False,
                    "round": state["params"]["talk_rounds"] + 1}
        return None

    def observation(self, state: dict, role_name: str) -> str:
        lines = [f"You are {role_name}.", f"Design brief: {state['params']['brief']}",
                 f"Discussion so far:\n{talk_transcript(state, None, limit=40)}"]
        if state["stage"] == "talk":
            lines.append("Contribute your perspective: what must the proposal get right from your point of view?")
        elif state["stage"] == "proposal" and role_name == state["manager"]:
            lines.append("Write the proposal: a summary and one section for each criterion: "
                         + "; ".join(self._criteria(state)) + ".")
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        return {
            "type": "object",
            "properties": {
                "proposal": {"type": "string", "maxLength": 20000, "description": "Summary of the proposal."},
                "sections": {
                    "type": "object",
                    "properties": {name: {"type": "string", "maxLength": 20000} for name in self._criteria(state)},
                    "additionalProperties": False,
                    "description": "One section of text per rubric criterion.",
                },
            },
            "required": ["proposal", "sections"],
        }

    def default_action(self, state: dict, role_name: str) -> dict:
        return {"proposal": "", "sections": {}}

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        brief = state["params"]["brief"]
        voices = [e["role"] for e in state["transcript"] if e["text"]]
        heard = ", ".join(dict.fromkeys(voices)) or "the team"
        sections = {
            c["name"]: f"{c['description']} Drawing on input from {heard}, for this brief we address it as follows."
            for c in state["params"]["rubric"]
        }
        return {"proposal": f"Proposal for: {brief}", "sections": sections}

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        persona = next((r["persona"] for r in self.default_roles if r["name"] == role_name), "my perspective")
        criteria = state["params"]["rubric"]
        criterion = criteria[(state["roles"].index(role_name) + state["talk_count"]) % len(criteria)]
        return (f"From my side ({persona.rstrip('.').lower()}): on {criterion['name'].lower()}, "
                f"{criterion['description'][0].lower()}{criterion['description'][1:]}")

    def on_talk(self, state: dict, role_name: str, text: str) -> dict:
        n = len(state["roles"])
        state["transcript"].append({"round": state["talk_count"] // n + 1, "role": role_name, "text": text})
        state["talk_count"] += 1
        everyone_passed = passes_in_a_row(state, None) >= n
        if state["talk_count"] >= state["params"]["talk_rounds"] * n or everyone_passed:
            state["stage"] = "proposal"
        return state

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        action = actions[state["manager"]]
        state["proposal"] = {"proposal": action["proposal"],
                             "sections": {name: action["sections"].get(name, "") for name in self._criteria(state)}}
        self._finish(state, "the proposal was submitted")
        return state, {"proposal": state["proposal"], "section_coverage": self._section_coverage(state)}

    def score(self, state: dict, scores: dict[str, int], scorer: str) -> dict:
        """Record a scorer's rubric levels (criterion -> level index, 0 = lowest); returns a new state."""
        if state.get("proposal") is None:
            raise ValueError(f"{self.key}: nothing to score yet: no proposal has been submitted")
        if not isinstance(scorer, str) or not scorer.strip():
            raise ValueError(f"{self.key}: the scorer needs a name")
        if not isinstance(scores, dict):
            raise ValueError(f"{self.key}: scores must map criterion names to level indexes")
        rubric = {c["name"]: c for c in state["params"]["rubric"]}
        unknown = sorted(set(scores) - set(rubric))
        missing = [name for name in rubric if name not in scores]
        if unknown:
            raise ValueError(f"{self.key}: unknown criteria {', '.join(unknown)}; rubric: {', '.join(rubric)}")
        if missing:
            raise ValueError(f"{self.key}: no score for {', '.join(missing)}")
        clean = {}
        for name, level in scores.items():
            top = len(rubric[name]["levels"]) - 1
            if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= top:
                raise ValueError(f"{self.key}: score for {name} must be a level index from 0 to {top}, got {level!r}")
            clean[name] = level
        new = clone(state)
        new["scores"][scorer] = clean
        return new

    def _section_coverage(self, state: dict) -> float:
        if state["proposal"] is None:
            return 0.0
        sections = state["proposal"]["sections"]
        return mean([1.0 if sections.get(name, "").strip() else 0.0 for name in self._criteria(state)])

    def metrics(self, state: dict) -> dict:
        rubric = state["params"]["rubric"]
        utterances = {n: 0 for n in state["roles"]}
        for entry in state["transcript"]:
            if entry["text"]:
                utterances[entry["role"]] += 1
        contributors = [n for n in state["roles"] if utterances[n]]
        top = sum(len(c["levels"]) - 1 for c in rubric)
        totals = {scorer: sum(s.values()) / top for scorer, s in state["scores"].items()}
        return {
            "submitted": state["proposal"] is not None,
            "utterances": utterances,
            "contributors": contributors,
            "perspective_coverage": len(contributors) / len(state["roles"]),
            "section_coverage": self._section_coverage(state),
            "rubric_scores": {scorer: dict(s) for scorer, s in state["scores"].items()},
            "rubric_totals": totals,
            "mean_rubric_total": mean(list(totals.values())) if totals else None,
        }

    def chart(self, state: dict) -> dict:
        if state["scores"]:
            criteria = self._criteria(state)
            return {"type": "bar", "title": "Rubric levels by scorer", "x": criteria,
                    "series": [{"name": scorer, "values": [s[c] for c in criteria]}
                               for scorer, s in state["scores"].items()]}
        m = self.metrics(state)
        return {"type": "bar", "title": "Contributions per perspective", "x": list(m["utterances"]),
                "series": [{"name": "Utterances", "values": list(m["utterances"].values())}]}
