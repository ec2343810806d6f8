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
    protocol_params={"moderator": "planner"},
    brief="Plan a one-day workshop that teaches first-year students version control.",
    max_turns=14,
))

register(Preset(
    key="senior_design_panel",
    title="Senior design panel",
    paper="Harnessing Multi-Agent LLMs for Senior Design Projects",
    description="Problem formulation, system complexity, societal and ethical, and project-manager personas.",
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
