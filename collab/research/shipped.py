"""The codebooks collab ships, each with the work it comes from (see
RESEARCH.md). Installed by a data migration and kept in step by key."""

SHIPPED = [
    {
        "key": "communication-failures",
        "name": "Communication failures between teammates",
        "description": "Where messages between teammates fail the team. Code the message that fails, or the span in it.",
        "source": "Khatua, Zhu et al. (2026), CooperBench: Why Coding Agents Cannot be Your Teammates Yet. Its "
                  "failure taxonomy for agents sharing a codebase: vague, ill-timed or inaccurate messages, deviation "
                  "from commitments, and wrong expectations about a teammate's plan.",
        "source_url": "https://arxiv.org/abs/2601.13295",
        "multi_label": True,
        "labels": [
            ("Vague message", "#2563eb", "A message too unspecific for the teammate to act on (no file, no "
             "interface, no owner, no deadline).", "\"I'll handle the backend part.\""),
            ("Ill-timed message", "#7c3aed", "Information sent too late (after the teammate acted on the old "
             "state) or too early to be used.", "Announcing a renamed function after the partner already called the old name."),
            ("Inaccurate message", "#dc2626", "A claim about the work or the state that is false.",
             "\"Tests pass on my side\" when they were never run."),
            ("Deviates from commitment", "#ea580c", "The agent does something other than what it said it would.",
             "Promised not to touch config.py, then rewrites it."),
            ("Wrong expectation about teammate", "#0891b2", "The agent acts on a wrong belief about what a "
             "teammate plans or has done.", "\"Since you are writing the parser...\" when the partner said they would not."),
        ],
    },
    {
        "key": "team-process",
        "name": "Team process with an expert",
        "description": "How a team treats its most knowledgeable member. Code the message where the team's decision moves.",
        "source": "Pappu et al. (2026), Multi-Agent Teams Hold Experts Back: teams given a known expert often fail "
                  "to weight the expert's judgement (NASA Moon survival and Lost at Sea tasks); the synergy gap is "
                  "the loss against the best member.",
        "source_url": "https://arxiv.org/abs/2602.01011",
        "multi_label": False,
        "labels": [
            ("Expert leveraged", "#16a34a", "The team adopts the expert's judgement because of the expertise.",
             "\"Our navigator knows this best; let's rank oxygen first as she says.\""),
            ("Expert overridden", "#dc2626", "The team sets aside the expert's judgement without a better argument.",
             "Majority vote puts matches first although the expert explained there is no oxygen."),
            ("Integrative compromise", "#ca8a04", "Positions are averaged or split rather than resolved on the merits.",
             "\"You say 2nd, I say 8th: let's put it 5th.\""),
            ("Conformity", "#7c3aed", "An agent drops its own view to agree with the majority or the last speaker.",
             "\"I had water lower, but I'll go with what everyone said.\""),
        ],
    },
    {
        "key": "social-dilemma-cooperation",
        "name": "Cooperation in social dilemmas",
        "description": "Moves that build or break cooperation over a shared resource or in giving games.",
        "source": "Piatti, Jin, Kleiman-Weiner, Schölkopf, Sachan & Mihalcea (2024), Cooperate or Collapse: "
                  "Emergence of Sustainable Cooperation in a Society of LLM Agents (GovSim): negotiating catch limits "
                  "for a common fishery; and Vallinder & Hughes (2024), Cultural Evolution of Cooperation among LLM "
                  "Agents (https://arxiv.org/abs/2412.10270): the donor game with reputation and costly punishment.",
        "source_url": "https://arxiv.org/abs/2404.16698",
        "multi_label": True,
        "labels": [
            ("Proposes a limit", "#2563eb", "Suggests a cap or rule on taking from the commons.",
             "\"Let's each catch at most 10 tonnes this month.\""),
            ("Agrees", "#16a34a", "Accepts a proposed limit or norm.", "\"Fine by me, 10 each.\""),
            ("Defects", "#dc2626", "Takes more than agreed or gives nothing when cooperation was expected.",
             "Catches 25 after agreeing to 10."),
            ("Punishes", "#ea580c", "Pays a cost or withholds to sanction another's defection.",
             "Spends resources to reduce the free-rider's payoff."),
            ("Justifies with fairness", "#0891b2", "Appeals to fairness, equality or the group's future.",
             "\"If everyone took that much the lake would be empty by June.\""),
        ],
    },
    {
        "key": "leadership",
        "name": "Leadership",
        "description": "Who leads the team, and how.",
        "source": "Team constructs from De Luca, Varni & Passerini (2025), Boosting Team Modeling through "
                  "Tempo-Relational Representation Learning (TRENN), and Code Collaborate: emergent leadership and "
                  "leadership style (directive, supportive) annotated in team conversations.",
        "source_url": "https://arxiv.org/abs/2507.13305",
        "multi_label": True,
        "labels": [
            ("Emergent leader", "#7c3aed", "An agent without an assigned lead role takes charge of the team's direction.",
             "The tester starts assigning tasks and the others follow."),
            ("Directive", "#dc2626", "Leads by telling others what to do.", "\"Coder, write the parser now; tester, wait.\""),
            ("Supportive", "#16a34a", "Leads by encouraging, asking and building on others' ideas.",
             "\"Good point, analyst; what would help you finish?\""),
        ],
    },
]


def install(Codebook, Label) -> None:
    """Create or refresh the shipped codebooks (model classes passed in, so a
    migration can use its historical models). A label is never deleted."""
    for spec in SHIPPED:
        book, _ = Codebook.objects.update_or_create(
            key=spec["key"], owner=None,
            defaults={"name": spec["name"], "description": spec["description"], "source": spec["source"],
                      "source_url": spec["source_url"], "multi_label": spec["multi_label"]})
        for order, (name, color, definition, example) in enumerate(spec["labels"]):
            Label.objects.update_or_create(codebook=book, name=name, defaults={
                "color": color, "definition": definition, "example": example, "order": order})
