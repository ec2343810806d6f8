"""Design-project proposal written by a panel of perspectives, after "Harnessing
Multi-Agent LLMs for Senior Design Projects"."""

from __future__ import annotations

import random

from collab.engine.params import Param, count, role_param

from .base import Scenario, clone, mean, passes_in_a_row, register, talk_transcript

LEVELS = ["Missing", "Developing", "Proficient", "Exemplary"]
MAX_COMMENT_CHARS = 2000  # per criterion: a paragraph of feedback, not a paste of the proposal

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


def _panel(state: dict) -> list[str]:
    # States saved before judges existed have no panel: everyone discussed.
    return state.get("panel", state["roles"])


@register
class DesignReview(Scenario):
    """Each panel role contributes its perspective in a discussion (talk,
    role order, `talk_rounds` turns each); then the project manager submits
    the proposal (act: {"proposal": str, "sections": {criterion: text}}).

    Scoring: when `judge_role` names a role of the team, that role sits out
    the discussion and, once the proposal is in, scores it (act: {"scores":
    {criterion: level index}, "rationale": str}); the game ends after its
    verdict. Without a judge the game ends at the proposal. Either way an
    instructor can score afterwards with `score(state, scores, scorer)`,
    which returns a new state; every scorer's levels are kept side by side.

    Metrics: rubric scores per scorer (level indexes) and their normalised
    totals (0..1) when scored; perspective coverage (share of panel roles
    that said something non-empty), section coverage (share of rubric
    criteria whose section is non-empty).

    Default actions: the manager's is {"proposal": "", "sections": {}}, an
    empty proposal (it scores zero coverage; nothing is written on the
    manager's behalf); the judge's is {"scores": {}, "rationale": ""}, no
    verdict (no score is recorded, the instructor can still score).
    The scripted judge ("templated") is a heuristic, not a reading: an empty
    section gets the lowest level, otherwise one level per 25 words, capped.

    mode "evaluate" (the paper's evaluation setting): the team does not write;
    it evaluates a given `proposal` ({"summary", "sections": {criterion:
    text}}, the instructor's or a student team's). Every panel role scores it
    from its perspective (one simultaneous act: scores and a rationale), then
    the coordinator (manager_role) sees their assessments and gives the
    panel's scores. single_agent=true is the paper's baseline: the
    coordinator evaluates alone. Agreement with the human grader
    (`human_scores`, or an instructor's scores recorded later) is the
    headline: exact agreement (share of criteria with the same level),
    agreement within one level, and the mean absolute level difference.
    """

    key = "design_review"
    title = "Senior design proposal review"
    summary = "A senior-design panel discusses a brief; the manager writes a proposal scored on a rubric."
    paper = "Harnessing Multi-Agent LLMs for Complex Engineering Problem-Solving: A Framework for Senior Design Projects"
    default_params = {
        "brief": DEFAULT_BRIEF,
        "rubric": DEFAULT_RUBRIC,
        "talk_rounds": 2,
        "manager_role": "",
        "judge_role": "",
        "mode": "write",
        "proposal": {},
        "human_scores": {},
        "single_agent": False,
    }
    param_help = {
        "brief": "The design brief the team works on.",
        "rubric": "Criteria: a list of {name, description, levels: [lowest .. highest]}.",
        "talk_rounds": "How many times each perspective speaks before the proposal.",
        "manager_role": "The role that writes the proposal (empty: the first role).",
        "judge_role": "A role that scores the proposal against the rubric instead of discussing "
                      "(empty: scoring is left to the instructor).",
        "mode": "write (the panel writes a proposal) or evaluate (the panel and a coordinator evaluate a given one).",
        "proposal": "evaluate mode: the proposal to evaluate, {\"summary\": text, \"sections\": {criterion: text}}.",
        "human_scores": "evaluate mode: the human grader's level per criterion, for agreement.",
        "single_agent": "evaluate mode: the coordinator evaluates alone (the paper's single-agent baseline).",
    }
    params_schema = (
        Param("brief", "longtext", label="Design brief"),
        Param("rubric", "json"),
        count("talk_rounds", "", 0, 20),
        role_param("manager_role", ""),
        role_param("judge_role", ""),
        Param("mode", "choice", choices=("write", "evaluate")),
        Param("proposal", "json"),
        Param("human_scores", "json"),
        Param("single_agent", "bool"),
    )
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
        self._choice(p, "mode", ["write", "evaluate"])
        if p["mode"] == "evaluate":
            proposal = p["proposal"]
            sections = proposal.get("sections")
            if not isinstance(sections, dict) or not all(isinstance(v, str) for v in sections.values()):
                raise ValueError(f"{self.key}: evaluate mode needs a proposal with sections: "
                                 "{\"summary\": text, \"sections\": {criterion: text}}")
            unknown = sorted(set(sections) - set(names))
            if unknown:
                raise ValueError(f"{self.key}: proposal sections not in the rubric: {', '.join(unknown)}")
            if not isinstance(proposal.get("summary", ""), str):
                raise ValueError(f"{self.key}: the proposal's summary must be text")
        if p["human_scores"]:
            self.check_levels(p["rubric"], p["human_scores"], "human_scores")

    def check_levels(self, rubric: list[dict], scores: dict, what: str) -> dict:
        by_name = {c["name"]: c for c in rubric}
        unknown = sorted(set(scores) - set(by_name))
        missing = [name for name in by_name if name not in scores]
        if unknown:
            raise ValueError(f"{self.key}: {what}: unknown criteria {', '.join(unknown)}; rubric: {', '.join(by_name)}")
        if missing:
            raise ValueError(f"{self.key}: {what}: no score for {', '.join(missing)}")
        for name, level in scores.items():
            top = len(by_name[name]["levels"]) - 1
            if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= top:
                raise ValueError(f"{self.key}: {what}: score for {name} must be a level index from 0 to {top}, "
                                 f"got {level!r}")
        return dict(scores)

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        judge = p["judge_role"]
        if judge and judge not in names:
            raise ValueError(f"{self.key}: judge_role {judge!r} is not one of the roles: {', '.join(names)}")
        panel = [n for n in names if n != judge]
        if not panel:
            raise ValueError(f"{self.key}: the judge needs a panel: add at least one other role")
        manager = p["manager_role"] or panel[0]
        if manager not in names:
            raise ValueError(f"{self.key}: manager_role {manager!r} is not one of the roles: {', '.join(names)}")
        if manager == judge:
            raise ValueError(f"{self.key}: {manager!r} cannot both write the proposal and judge it")
        state = self._base_state(p, names, seed)
        evaluate = p["mode"] == "evaluate"
        if evaluate:
            stage = "coordinate" if p["single_agent"] else "assess"
        else:
            stage = "talk" if p["talk_rounds"] > 0 else "proposal"
        state.update({
            "stage": stage,
            "manager": manager,
            "judge": judge,
            "panel": panel,
            "verdict": None,
            "talk_count": 0,
            "transcript": [],
            "proposal": ({"proposal": p["proposal"].get("summary", ""),
                          "sections": {n: p["proposal"]["sections"].get(n, "") for n in self._criteria(state)}}
                         if evaluate else None),
            "scores": {},
            "assessments": {},
        })
        return state

    def _criteria(self, state: dict) -> list[str]:
        return [c["name"] for c in state["params"]["rubric"]]

    def rules_text(self, state: dict) -> str:
        rubric = "; ".join(f"{c['name']}: {c['description']} Levels: {' < '.join(c['levels'])}."
                           for c in state["params"]["rubric"])
        if state["params"]["mode"] == "evaluate":
            who = (f"{state['manager']} evaluates it alone" if state["params"]["single_agent"] else
                   f"each panel member ({', '.join(self._assessors(state))}) scores it from their own perspective, "
                   f"then {state['manager']}, the coordinator, weighs their assessments and gives the panel's scores")
            return (f"Design brief: {state['params']['brief']}\nA design proposal has been submitted for this brief; "
                    f"{who}, against the rubric. Rubric: {rubric}")
        judged = (f" {state['judge']} does not take part in the discussion: it scores the proposal against the "
                  f"rubric." if state.get("judge", "") else "")
        return (
            f"Design brief: {state['params']['brief']}\n"
            f"The panel ({', '.join(state['panel'])}) discusses the brief, each from its own perspective, for "
            f"{state['params']['talk_rounds']} round(s). Then {state['manager']} writes the proposal with one "
            f"section per rubric criterion.{judged} Rubric: {rubric}"
        )

    def _assessors(self, state: dict) -> list[str]:
        return [n for n in _panel(state) if n != state["manager"]]

    def next_step(self, state: dict) -> dict | None:
        if state["stage"] == "assess":
            return {"phase": "act", "actors": self._assessors(state), "simultaneous": True, "round": 1}
        if state["stage"] == "coordinate":
            return {"phase": "act", "actors": [state["manager"]], "simultaneous": False, "round": 2}
        if state["stage"] == "talk":
            panel = _panel(state)
            return {"phase": "talk", "actors": [panel[state["talk_count"] % len(panel)]],
                    "round": state["talk_count"] // len(panel) + 1}
        if state["stage"] == "proposal":
            return {"phase": "act", "actors": [state["manager"]], "simultaneous": False,
                    "round": state["params"]["talk_rounds"] + 1}
        if state["stage"] == "judge":
            return {"phase": "act", "actors": [state.get("judge", "")], "simultaneous": False,
                    "round": state["params"]["talk_rounds"] + 2}
        return None

    def _proposal_text(self, state: dict) -> str:
        proposal = state["proposal"]
        parts = [f"Summary: {proposal['proposal'] or '(empty)'}"]
        parts += [f"{name}: {text or '(empty)'}" for name, text in proposal["sections"].items()]
        return "\n".join(parts)

    def observation(self, state: dict, role_name: str) -> str:
        lines = [f"You are {role_name}.", f"Design brief: {state['params']['brief']}",
                 f"Discussion so far:\n{talk_transcript(state, None, limit=40)}"]
        if state["stage"] in {"assess", "coordinate"}:
            levels = "; ".join(f"{c['name']}: " + ", ".join(f"{i} = {label}" for i, label in enumerate(c["levels"]))
                               for c in state["params"]["rubric"])
            lines = [f"You are {role_name}.", f"Design brief: {state['params']['brief']}",
                     f"The proposal to evaluate:\n{self._proposal_text(state)}"]
            if state["stage"] == "coordinate" and state["assessments"]:
                lines.append("The panel's assessments:")
                for name, a in state["assessments"].items():
                    lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in a["scores"].items())
                                 + (f" ({a['rationale']})" if a.get("rationale") else ""))
            lines.append(f"Score it: give every criterion a level index ({levels}) and a short rationale.")
            return "\n".join(lines)
        if state["stage"] == "judge" and role_name == state.get("judge", ""):
            levels = "; ".join(f"{c['name']}: " + ", ".join(f"{i} = {label}" for i, label in enumerate(c["levels"]))
                               for c in state["params"]["rubric"])
            lines.append(f"The proposal:\n{self._proposal_text(state)}")
            lines.append(f"Score it: give every criterion a level index ({levels}) and a short rationale.")
        elif state["stage"] == "talk":
            lines.append("Contribute your perspective: what must the proposal get right from your point of view?")
        elif state["stage"] == "proposal" and role_name == state["manager"]:
            lines.append("Write the proposal: a summary and one section for each criterion: "
                         + "; ".join(self._criteria(state)) + ".")
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        if state["stage"] in {"judge", "assess", "coordinate"}:
            rubric = state["params"]["rubric"]
            return {
                "type": "object",
                "properties": {
                    "scores": {
                        "type": "object",
                        "properties": {c["name"]: {"type": "integer", "minimum": 0, "maximum": len(c["levels"]) - 1}
                                       for c in rubric},
                        "required": [c["name"] for c in rubric],
                        "additionalProperties": False,
                        "description": "A level index per rubric criterion, 0 = lowest.",
                    },
                    "rationale": {"type": "string", "maxLength": 4000, "description": "Why these levels."},
                },
                "required": ["scores"],
            }
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
        if state["stage"] in {"judge", "assess", "coordinate"}:
            return {"scores": {}, "rationale": ""}
        return {"proposal": "", "sections": {}}

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        if state["stage"] in {"judge", "assess"}:
            return self._heuristic_verdict(state)
        if state["stage"] == "coordinate":
            if not state["assessments"]:
                return self._heuristic_verdict(state)
            scored = [a["scores"] for a in state["assessments"].values() if a["scores"]]
            scores = {c: round(mean([s[c] for s in scored])) for c in self._criteria(state)} if scored else {}
            return {"scores": scores, "rationale": "Scripted coordinator: the rounded mean of the panel's levels."}
        brief = state["params"]["brief"]
        voices = [e["role"] for e in state["transcript"] if e["text"]]
        heard = ", ".join(dict.fromkeys(voices)) or "the team"
        sections = {
            c["name"]: f"{c['description']} Drawing on input from {heard}, for this brief we address it as follows."
            for c in state["params"]["rubric"]
        }
        return {"proposal": f"Proposal for: {brief}", "sections": sections}

    def _heuristic_verdict(self, state: dict) -> dict:
        scores, notes = {}, []
        for c in state["params"]["rubric"]:
            words = len(state["proposal"]["sections"].get(c["name"], "").split())
            top = len(c["levels"]) - 1
            scores[c["name"]] = 0 if words == 0 else min(top, 1 + words // 25)
            notes.append(f"{c['name']}: {words} words")
        return {"scores": scores,
                "rationale": "Scripted judge: levels from how much each section says, not from reading it ("
                             + "; ".join(notes) + ")."}

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        persona = next((r["persona"] for r in self.default_roles if r["name"] == role_name), "my perspective")
        criteria = state["params"]["rubric"]
        criterion = criteria[(_panel(state).index(role_name) + state["talk_count"]) % len(criteria)]
        return (f"From my side ({persona.rstrip('.').lower()}): on {criterion['name'].lower()}, "
                f"{criterion['description'][0].lower()}{criterion['description'][1:]}")

    def on_talk(self, state: dict, role_name: str, text: str) -> dict:
        n = len(_panel(state))
        state["transcript"].append({"round": state["talk_count"] // n + 1, "role": role_name, "text": text})
        state["talk_count"] += 1
        everyone_passed = passes_in_a_row(state, None) >= n
        if state["talk_count"] >= state["params"]["talk_rounds"] * n or everyone_passed:
            state["stage"] = "proposal"
        return state

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        if state["stage"] == "assess":
            state["assessments"] = {n: {"scores": dict(a["scores"]), "rationale": a.get("rationale", "")}
                                    for n, a in actions.items()}
            state["stage"] = "coordinate"
            return state, {"assessments": state["assessments"]}
        if state["stage"] == "coordinate":
            coordinator = state["manager"]
            verdict = actions[coordinator]
            state["verdict"] = {"scores": dict(verdict["scores"]), "rationale": verdict.get("rationale", "")}
            if verdict["scores"]:
                state["scores"][coordinator] = dict(verdict["scores"])
            self._finish(state, "the panel evaluated the proposal" if not state["params"]["single_agent"]
                         else f"{coordinator} evaluated the proposal alone")
            return state, {"verdict": state["verdict"], "scorer": coordinator,
                           "agreement": self.agreement(state)}
        if state["stage"] == "judge":
            judge = state.get("judge", "")
            verdict = actions[judge]
            state["verdict"] = {"scores": dict(verdict["scores"]), "rationale": verdict.get("rationale", "")}
            if verdict["scores"]:
                state["scores"][judge] = dict(verdict["scores"])
                self._finish(state, f"{judge} scored the proposal")
            else:
                self._finish(state, f"{judge} gave no valid verdict; the proposal awaits the instructor's scores")
            return state, {"verdict": state["verdict"], "scorer": judge}
        action = actions[state["manager"]]
        state["proposal"] = {"proposal": action["proposal"],
                             "sections": {name: action["sections"].get(name, "") for name in self._criteria(state)}}
        if state.get("judge", ""):
            state["stage"] = "judge"
        else:
            self._finish(state, "the proposal was submitted")
        return state, {"proposal": state["proposal"], "section_coverage": self._section_coverage(state)}

    def score(self, state: dict, scores: dict[str, int], scorer: str, comments: dict[str, str] | None = None) -> dict:
        """Record a scorer's rubric levels (criterion -> level index, 0 = lowest) and
        optional comments per criterion; returns a new state. A second scoring by the
        same scorer replaces the first, comments included."""
        if state.get("proposal") is None:
            raise ValueError(f"{self.key}: nothing to score yet: no proposal has been submitted")
        if state.get("stage") == "judge":
            raise ValueError(f"{self.key}: {state['judge']} is judging the proposal; score once the verdict is in")
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
        notes = self._clean_comments(comments or {}, rubric)
        new = clone(state)
        new["scores"][scorer] = clean
        new.setdefault("comments", {})[scorer] = notes
        return new

    def _clean_comments(self, comments: object, rubric: dict) -> dict[str, str]:
        if not isinstance(comments, dict):
            raise ValueError(f"{self.key}: comments must map criterion names to text")
        unknown = sorted(set(comments) - set(rubric))
        if unknown:
            raise ValueError(f"{self.key}: comments on unknown criteria {', '.join(unknown)}")
        clean = {}
        for name, text in comments.items():
            if not isinstance(text, str):
                raise ValueError(f"{self.key}: the comment on {name} must be text")
            if "\x00" in text:
                raise ValueError(f"{self.key}: the comment on {name} contains a NUL character")
            if len(text) > MAX_COMMENT_CHARS:
                raise ValueError(f"{self.key}: the comment on {name} is {len(text):,} characters; "
                                 f"at most {MAX_COMMENT_CHARS:,} are allowed")
            if text.strip():
                clean[name] = text.strip()
        return clean

    def _section_coverage(self, state: dict) -> float:
        if state["proposal"] is None:
            return 0.0
        sections = state["proposal"]["sections"]
        return mean([1.0 if sections.get(name, "").strip() else 0.0 for name in self._criteria(state)])

    def human_scores(self, state: dict) -> dict | None:
        """The human grader's levels: the parameter, else the first scorer
        who is not a role of the team (an instructor scoring afterwards)."""
        if state["params"]["human_scores"]:
            return state["params"]["human_scores"]
        return next((s for scorer, s in state["scores"].items() if scorer not in state["roles"]), None)

    def agreement(self, state: dict) -> dict:
        """Agreement between the panel's (coordinator's) scores and the human grader's."""
        human, panel = self.human_scores(state), state["scores"].get(state["manager"])
        if not human or not panel:
            return {}
        diffs = [abs(panel[c] - human[c]) for c in self._criteria(state)]
        return {"agreement_exact": mean([1.0 if d == 0 else 0.0 for d in diffs]),
                "agreement_within_one": mean([1.0 if d <= 1 else 0.0 for d in diffs]),
                "mean_abs_level_diff": mean([float(d) for d in diffs])}

    def metrics(self, state: dict) -> dict:
        if state["params"]["mode"] == "evaluate":
            top = sum(len(c["levels"]) - 1 for c in state["params"]["rubric"])
            panel = state["scores"].get(state["manager"])
            human = self.human_scores(state)
            return {
                "evaluated": panel is not None,
                "single_agent": state["params"]["single_agent"],
                "assessments": {n: dict(a["scores"]) for n, a in state["assessments"].items()},
                "panel_scores": dict(panel) if panel else None,
                "panel_total": sum(panel.values()) / top if panel else None,
                "human_scores": dict(human) if human else None,
                "human_total": sum(human.values()) / top if human else None,
                **self.agreement(state),
            }
        rubric = state["params"]["rubric"]
        panel = _panel(state)
        utterances = {n: 0 for n in panel}
        for entry in state["transcript"]:
            if entry["text"]:
                utterances[entry["role"]] += 1
        contributors = [n for n in panel if utterances[n]]
        top = sum(len(c["levels"]) - 1 for c in rubric)
        totals = {scorer: sum(s.values()) / top for scorer, s in state["scores"].items()}
        return {
            "submitted": state["proposal"] is not None,
            "utterances": utterances,
            "contributors": contributors,
            "perspective_coverage": len(contributors) / len(panel),
            "section_coverage": self._section_coverage(state),
            "rubric_scores": {scorer: dict(s) for scorer, s in state["scores"].items()},
            "rubric_totals": totals,
            "rubric_comments": {scorer: dict(c) for scorer, c in state.get("comments", {}).items() if c},
            "mean_rubric_total": mean(list(totals.values())) if totals else None,
            "judge": state.get("judge", "") or None,
            "judge_rationale": (state.get("verdict") or {}).get("rationale") or None,
        }

    def chart(self, state: dict) -> dict:
        if state["params"]["mode"] == "evaluate":
            criteria = self._criteria(state)
            series = [{"name": "Panel" if not state["params"]["single_agent"] else "Single agent",
                       "values": [state["scores"].get(state["manager"], {}).get(c) for c in criteria]}]
            human = self.human_scores(state)
            if human:
                series.append({"name": "Human grader", "values": [human[c] for c in criteria]})
            return {"type": "bar", "title": "Rubric levels: panel vs human grader", "x": criteria, "series": series}
        if state["scores"]:
            criteria = self._criteria(state)
            return {"type": "bar", "title": "Rubric levels by scorer", "x": criteria,
                    "series": [{"name": scorer, "values": [s[c] for c in criteria]}
                               for scorer, s in state["scores"].items()]}
        m = self.metrics(state)
        return {"type": "bar", "title": "Contributions per perspective", "x": list(m["utterances"]),
                "series": [{"name": "Utterances", "values": list(m["utterances"].values())}]}
