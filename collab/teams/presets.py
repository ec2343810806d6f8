"""Ready teams from the research. Each preset is a team plus the protocol,
topology and (optionally) scenario it was made for, and says in one line
which paper it follows."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    paper: str
    description: str
    roles: list[dict]
    protocol: str = "round_robin"
    protocol_params: dict = field(default_factory=dict)
    topology: str = "everyone"
    topology_params: dict = field(default_factory=dict)
    scenario: str = ""
    scenario_params: dict = field(default_factory=dict)
    brief: str = ""
    max_turns: int = 12
    # Which setting of the paper this reproduces, and every departure that remains.
    setting: str = ""
    departures: tuple[str, ...] = ()


def role(name, persona, goals="", color="#4f46e5", avatar="", expertise="", traits=(), strength=1):
    return {
        "name": name, "persona": persona, "goals": goals, "color": color, "avatar": avatar,
        "expertise": expertise, "traits": list(traits), "strength": strength,
    }


PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    PRESETS[preset.key] = preset
    return preset


register(Preset(
    key="self_collab_coding",
    title="Self-collaboration coding team",
    paper="Self-collaboration Code Generation via ChatGPT (Dong et al.)",
    description="Analyst, coder and tester in a pipeline; the tester can send work back to the coder.",
    roles=[
        role("analyst", "You are the requirements analyst. Break the task into a precise plan and interfaces.",
             "Decompose the requirement; give the coder a plan.", "#0ea5e9", "🧭", "requirements"),
        role("coder", "You are the coder. Write clean, working code that follows the analyst's plan.",
             "Implement the plan; fix what the tester reports.", "#22c55e", "💻", "Python"),
        role("tester", "You are the tester. Review the code, write test cases, and report failures precisely.",
             "Find defects; approve only working code.", "#f97316", "🧪", "testing"),
    ],
    protocol="phases",
    protocol_params={"phases": [
        {"name": "analysis", "participants": ["analyst"], "goal": "a plan for the coder", "turns": 1},
        {"name": "coding", "participants": ["coder"], "goal": "code that follows the plan", "turns": 1},
        {"name": "testing", "participants": ["tester"], "goal": "a verdict on the code", "turns": 1,
         "feedback_to": "coding", "max_loops": 2},
    ]},
    brief="Write a function that returns the n-th Fibonacci number, with tests.",
    max_turns=12,
))

register(Preset(
    key="team_of_rivals",
    title="Team of rivals",
    paper="If You Want Coherence, Orchestrate a Team of Rivals",
    description="Planner, executor, a critic with veto and a domain expert, led by a moderator.",
    roles=[
        role("planner", "You are the planner. Propose the plan and decide who should speak next.",
             "Keep the team on a coherent plan.", "#6366f1", "🗺", "planning", strength=3),
        role("executor", "You are the executor. Carry out plan steps and report concrete results.",
             "Deliver the steps.", "#10b981", "🛠", "execution"),
        role("critic", "You are the critic with a veto. Catch errors before the user sees them.",
             "Block incoherent or wrong work.", "#ef4444", "🛑", "review", traits=["skeptical"]),
        role("expert", "You are the domain expert. Correct facts and add what the others miss.",
             "Keep the work correct.", "#a855f7", "🎓", "domain knowledge", strength=2),
    ],
    protocol="moderator",
    protocol_params={"moderator": "planner", "veto_role": "critic"},
    brief="Plan a one-day workshop that teaches first-year students version control.",
    max_turns=30,
))

PALETTE = ["#0ea5e9", "#22c55e", "#f97316", "#a855f7", "#ef4444", "#14b8a6", "#eab308", "#ec4899",
           "#6366f1", "#84cc16", "#06b6d4", "#f43f5e"]


def scenario_roles(key: str, count: int | None = None) -> list[dict]:
    from collab.engine import scenarios

    specs = scenarios.get(key).default_roles[:count] if count else scenarios.get(key).default_roles
    return [role(r["name"], r.get("persona", ""), r.get("goals", ""), PALETTE[i % len(PALETTE)],
                 strength=len(specs) - i) for i, r in enumerate(specs)]


def scenario_preset(key, title, paper, description, scenario, *, params=None, strategies=None, brief="",
                    max_turns=300, roles=None, topology="everyone", setting="", departures=()):
    protocol_params = {"scenario": scenario, "params": params or {}}
    if strategies:
        protocol_params["strategies"] = strategies
    return register(Preset(key=key, title=title, paper=paper, description=description,
                           roles=roles or scenario_roles(scenario), protocol="scenario", protocol_params=protocol_params,
                           topology=topology, scenario=scenario, scenario_params=params or {}, brief=brief,
                           max_turns=max_turns, setting=setting, departures=tuple(departures)))


register(Preset(
    key="senior_design_panel_discussion",
    title="Senior design discussion",
    paper="Harnessing Multi-Agent LLMs for Senior Design Projects",
    description="The four senior-design personas discuss a brief in turn, with no rubric.",
    roles=[
        role("problem_formulation", "You sharpen the problem statement, stakeholders and requirements.",
             "A clear, testable problem definition.", "#0ea5e9", "🎯"),
        role("system_complexity", "You analyse architecture, interfaces, risks and technical feasibility.",
             "A feasible system design.", "#14b8a6", "⚙"),
        role("societal_ethical", "You weigh societal, ethical, safety and sustainability impacts.",
             "Responsible design choices.", "#f59e0b", "⚖"),
        role("project_manager", "You are the project manager: scope, milestones, roles, and the final proposal.",
             "A realistic plan and a coherent proposal.", "#8b5cf6", "📋"),
    ],
    protocol="round_robin",
    brief="Design a low-cost water-quality monitoring station for a rural school.",
    max_turns=8,
))

register(Preset(
    key="debate_panel",
    title="Debate-and-vote panel",
    paper="OPTAGENT and multi-agent debate: rounds of argument, then a majority vote",
    description="Three debaters argue for two rounds, then every one votes.",
    roles=[
        role("optimist", "You argue for the most promising option, with evidence.", "", "#22c55e", "☀"),
        role("skeptic", "You argue against weak options and expose risks.", "", "#ef4444", "🌧"),
        role("pragmatist", "You weigh costs and benefits and look for what works.", "", "#3b82f6", "⚖"),
    ],
    protocol="debate_vote",
    protocol_params={"rounds": 2, "options": ["Option A", "Option B"]},
    brief="Should the lab adopt pair programming (Option A) or solo work with code review (Option B)?",
))

register(Preset(
    key="capo_planners",
    title="Plan-then-adapt team",
    paper="CaPo: Cooperative Plan Optimization for Efficient Embodied Multi-Agent Cooperation",
    description="The team drafts a meta-plan together, then executes and revises it as progress demands.",
    roles=[
        role("alice", "You are a careful planner and executor.", "", "#ec4899", "A", strength=2),
        role("bob", "You are a fast executor who reports progress honestly.", "", "#06b6d4", "B"),
    ],
    protocol="plan_execute",
    protocol_params={"plan_turns": 2},
    brief="Organise moving a 20-person lab to a new building over one weekend.",
))

RANKING_DEPARTURES = (
    "The team answer is the item-wise mean of the members' final rankings (their common ranking when they agree); "
    "collab could not check the paper's exact aggregation, and team_answer=reporter keeps a single reporter.",
    "Scores are 1 - error / the largest possible error, so the relative loss is defined when the expert is "
    "perfect; the paper's ML benchmarks are not included.",
)

DONOR_DEPARTURES = (
    "Actions are a JSON fraction of resources rather than free text with 'Answer: x' units.",
    "Survivors keep their seat name; a newcomer takes a replaced agent's seat rather than a new name.",
)

scenario_preset(
    "senior_design_panel", "Senior design panel",
    "Harnessing Multi-Agent LLMs for Senior Design Projects: persona panel on a design brief, scored by rubric",
    "Problem formulation, system complexity, societal and ethical, and project-manager personas write a proposal; "
    "a faculty judge scores it against the rubric (the instructor can score it too).",
    "design_review", params={"judge_role": "Faculty Judge"}, max_turns=60,
    roles=scenario_roles("design_review") + [role(
        "Faculty Judge", "You are the course's faculty reviewer. You score proposals strictly against the rubric, "
        "citing the text.", "A fair, evidence-based score for every criterion.", "#64748b", "⚖", strength=5)],
    setting="collab's writing variant: the perspectives write a proposal for a brief and a judge scores it.",
    departures=("The paper's panel evaluates existing student proposals (see senior_design_evaluation); "
                "here it writes one.",))

SAMPLE_PROPOSAL = {
    "summary": "A solar-powered purification unit: sediment filter, activated carbon and a UV-C stage, sized for "
               "1,500 litres a day, with a maintenance plan run by the school's science club.",
    "sections": {
        "Problem definition": "300 students need at least 5 litres of safe water each per school day; the unit must "
                              "run without grid power, remove turbidity and pathogens (WHO guidelines), and be "
                              "maintainable by staff with one hour of training.",
        "Technical feasibility": "Off-the-shelf 400 W panels and a 12 V UV-C lamp; the parts list comes to 1,650 USD. "
                                 "Risks: lamp life and cloudy weeks; a battery bank covers two days.",
        "Societal & ethical impact": "Fewer water-borne illnesses; spent cartridges are collected by the supplier.",
        "Project plan": "Semester 1: requirements, design, bench prototype. Semester 2: build, two-week field test, "
                        "handover and report.",
    },
}

scenario_preset(
    "senior_design_evaluation", "Senior design evaluation panel",
    "Harnessing Multi-Agent LLMs for Senior Design Projects: perspective agents and a coordinator evaluate a proposal",
    "Problem formulation, system complexity and societal-ethical perspectives score a student proposal against the "
    "rubric; the project manager, as coordinator, weighs their assessments; agreement with the faculty grader is "
    "the result (single_agent=true is the baseline).",
    "design_review", params={"mode": "evaluate", "proposal": SAMPLE_PROPOSAL, "human_scores": {
        "Problem definition": 3, "Technical feasibility": 2, "Societal & ethical impact": 1, "Project plan": 2}},
    max_turns=20,
    setting="The paper's evaluation setting: perspective agents and a coordinator score an existing proposal against "
            "a rubric; agreement with a human (faculty) grader; single_agent=true for the single-agent baseline. "
            "Replace proposal and human_scores with your course's.",
    departures=(
        "Four perspectives (three assessors and the coordinator) instead of the paper's eight agents.",
        "A sample proposal and sample faculty scores ship with the preset; the paper's student proposals and "
        "faculty scores are not public here.",
        "Offline, the scripted assessors score by section length, not by reading.",
    ))

scenario_preset(
    "fishery_village", "Fishery village",
    "Cooperate or Collapse (GovSim): five fishers share a lake over twelve months",
    "Each month every fisher privately chooses a catch, then the village talks and reflects.",
    "fishery", strategies={"John": "sustainable", "Kate": "sustainable", "Jack": "sustainable",
                           "Emma": "sustainable", "Luke": "greedy"}, max_turns=400,
    setting="GovSim's default fishery: 5 fishers, 12 months, a lake of 100 tons doubling up to 100, collapse below "
            "5 tons (not told), stochastic rationing of demand above the stock, the mayor's report and open "
            "discussion, private reflection. Variants: universalization=true, rationing=proportional, "
            "discussion=fixed, tell_collapse_rule=true.",
    departures=(
        "Catches are a JSON action rather than a free-text answer parsed by GovSim's harvest prompt.",
        "The limit a discussion settles on is the last 'N tons' a fisher said, not a model's summary.",
        "The game ends right after a collapsing harvest; GovSim still holds that month's discussion.",
        "Memory is the last six harvest reports and three reflections, not GovSim's retrieval memory.",
    ))

scenario_preset(
    "donor_society", "Donor society",
    "Cultural Evolution of Cooperation among LLM Agents: the donor game over generations",
    "Twelve agents give to one another with reputations; the richest half survive each generation.",
    "donor", params={"generations": 2, "rounds_per_generation": 4}, strategies="reciprocal", max_turns=400,
    setting="A short demo of the paper's game: 12 agents, 2 generations of 4 rounds.",
    departures=DONOR_DEPARTURES + ("2 generations of 4 rounds instead of the paper's 10 of 12.",))

scenario_preset(
    "donor_society_paper", "Donor society (paper setting)",
    "Cultural Evolution of Cooperation among LLM Agents: the donor game over generations",
    "The paper's defaults: 12 agents, 10 generations of 12 rounds, two reshuffled groups alternating donors.",
    "donor", params={"generations": 10, "rounds_per_generation": 12}, strategies="reciprocal", max_turns=400,
    setting="The paper's main setting: 12 agents, 10 generations x 12 rounds, gifts doubled, chain traces "
            "three steps back, the top half survive (add punishment=true for the costly-punishment variant).",
    departures=DONOR_DEPARTURES)

scenario_preset(
    "public_goods_group", "Public goods group (standard game)",
    "Sequential public goods game: the standard reward that Everyone Contributes! (MAC-SPGG) argues against",
    "Each player sees its predecessors' contributions before choosing its own; payoff e - c + r * pot / n.",
    "public_goods", strategies="conditional", max_turns=200,
    setting="The standard sequential public goods game (4 players, e = 10, r = 1.6, 5 rounds): the baseline "
            "whose equilibrium is contributing nothing.",
    departures=("Players are LLM agents choosing a number, not MAC-SPGG's policy networks setting generation "
                "parameters on a reasoning task.",))

scenario_preset(
    "mac_spgg_group", "MAC-SPGG group (redesigned reward)",
    "Everyone Contributes! (MAC-SPGG): the sequential public goods game with its redesigned reward",
    "The same sequential game under MAC-SPGG's reward: a cooperation bonus scaled by predecessors' giving and a "
    "collective penalty below a threshold, so contributing everything is the equilibrium.",
    "public_goods", params={"reward": "mac_spgg"}, strategies="conditional", max_turns=200,
    setting="MAC-SPGG's reward design on the sequential game with full observation of predecessors.",
    departures=(
        "The reward has the paper's four parts, but its exact functional form and coefficients here are collab's "
        "(g = 0.8, B = half the largest pot, penalty 5), chosen so that full contribution is the unique SPNE.",
        "Contributions are numbers chosen by LLM agents, not the quality of answers on a reasoning task.",
    ))

scenario_preset(
    "maze_pair", "Maze pair",
    "The Collaboration Gap: two agents with split views must agree on every move",
    "A 6x6 maze; each navigator sees half the map; the stronger one leads (relay).",
    "maze", params={"relay": True, "strengths": {"Navigator A": 2, "Navigator B": 1}},
    strategies="follow_known_path", max_turns=200,
    setting="collab's structured variant of the paper's maze: one JSON move per turn each, the stronger navigator "
            "proposing first.",
    departures=("Moves are structured per turn with feedback from the maze; the paper's agents talk freely and "
                "their path is extracted afterwards (see maze_pair_paper).",))

scenario_preset(
    "maze_pair_paper", "Maze pair (paper setting)",
    "The Collaboration Gap: split-view maze solved in free conversation, the agreed path extracted by a grader",
    "Two navigators, each seeing half of a 6x6 maze, talk freely until they agree on a path; a grader extracts "
    "it and it is played from the start. The stronger navigator leads, then hands over to the weaker (relay).",
    "maze", params={"conversation": "free", "relay": True, "handoff_turn": 4,
                    "strengths": {"Navigator A": 2, "Navigator B": 1}},
    strategies="follow_known_path", max_turns=120,
    setting="Free conversation with no output format, moves extracted afterwards (offline rule-based grader; name "
            "a grader_role for a model grader), relay from the stronger to the weaker after 4 utterances.",
    departures=(
        "The paper's mazes and grader prompt are not reproduced exactly: mazes are collab's seeded 6x6 grids, and "
        "the offline grader takes the last proposal the partner accepted.",
        "Relay hands the lead (who speaks first) to the weaker navigator; in the paper the stronger model plays "
        "the opening turns of the dialogue and the weaker continues it.",
    ))

scenario_preset(
    "expert_ranking", "Expert-ranking team",
    "Multi-Agent Teams Hold Experts Back: does the team follow its expert?",
    "Members rank survival items, discuss, and the reporter submits one team ranking.",
    "ranking", strategies={"Reporter": "average", "Member": "anchored", "Generalist": "anchored",
                           "Expert": "expert_truthful"}, max_turns=100,
    setting="NASA Lost on the Moon, all 15 items and NASA's answer key; four members, one a known expert; "
            "private rankings, discussion, then every member submits the agreed ranking (task=sea for Lost at "
            "Sea). Synergy gap as a rank-error difference and as the relative loss against the best member.",
    departures=RANKING_DEPARTURES)

scenario_preset(
    "expert_ranking_sea", "Expert-ranking team (Lost at Sea)",
    "Multi-Agent Teams Hold Experts Back: Lost at Sea, with a known expert",
    "The same team on the Lost at Sea task (15 items, the US Coast Guard's answer key).",
    "ranking", params={"task": "sea"},
    strategies={"Reporter": "average", "Member": "anchored", "Generalist": "anchored", "Expert": "expert_truthful"},
    max_turns=100,
    setting="Lost at Sea, all 15 items; otherwise as expert_ranking.",
    departures=RANKING_DEPARTURES)

register(Preset(
    key="chatdev_chain",
    title="ChatDev chat chain",
    paper="Multi-Agent Software Development through Cross-Team Collaboration (ChatDev)",
    description="Demand analysis, coding, review and test phases; review and test can send work back.",
    roles=[
        role("CEO", "You are the CEO: you analyse the user's demand and fix the product's scope.", "", "#6366f1", "👔"),
        role("CTO", "You are the CTO: you choose the design and the language.", "", "#0ea5e9", "🧠"),
        role("Programmer", "You are the programmer: you write the code.", "", "#22c55e", "💻"),
        role("Reviewer", "You are the code reviewer: you find defects and ask for fixes.", "", "#f97316", "🔍"),
        role("Tester", "You are the tester: you run the code and report failures.", "", "#ef4444", "🧪"),
    ],
    protocol="phases",
    protocol_params={"phases": [
        {"name": "demand analysis", "participants": ["CEO", "CTO"], "goal": "agree what to build", "turns": 2},
        {"name": "coding", "participants": ["CTO", "Programmer"], "goal": "a first version", "turns": 2},
        {"name": "code review", "participants": ["Reviewer", "Programmer"], "goal": "fix what the review finds",
         "turns": 2, "feedback_to": "coding", "max_loops": 1},
        {"name": "testing", "participants": ["Tester"], "goal": "a verdict", "turns": 1,
         "feedback_to": "coding", "max_loops": 1},
    ]},
    brief="Build a command-line to-do list app with due dates.",
    max_turns=30,
))

register(Preset(
    key="courtroom",
    title="Courtroom",
    paper="Strategic Persuasion with Trait-Conditioned Multi-Agent Systems: prosecution vs defense, then a verdict",
    description="Prosecution and defense teams argue in rounds; the judge votes the verdict with the jury.",
    roles=[
        role("prosecutor", "You lead the prosecution: argue that the defendant is guilty.", "", "#ef4444", "⚔",
             traits=["assertive"]),
        role("prosecution_analyst", "You support the prosecution with evidence and precedent.", "", "#f97316", "📑"),
        role("defender", "You lead the defense: argue that the defendant is not guilty.", "", "#3b82f6", "🛡",
             traits=["calm"]),
        role("defense_analyst", "You support the defense with evidence and doubts.", "", "#06b6d4", "📘"),
        role("judge", "You are the judge: weigh both sides fairly and decide.", "", "#6b7280", "⚖",
             traits=["impartial"]),
    ],
    protocol="debate_vote",
    protocol_params={"rounds": 2, "options": ["guilty", "not guilty"]},
    brief="The defendant is accused of taking a laptop from the lab; a witness saw someone similar that night.",
    max_turns=20,
))
