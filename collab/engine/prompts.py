"""Prompt building: an agent's messages come only from the events it can see,
sized to the model's context: the system part and the turn's instruction
always, then the newest visible events that fit the token budget, with a
note of how many older ones were left out."""

from collab.engine import plan as plan_mod
from collab.engine.protocols.base import Turn
from collab.engine.topologies import Topology
from collab.llm.base import estimate_message_tokens

# Kept free of the context besides the reply's max_tokens: the estimate is
# not the server's tokenizer, and chat templates add tokens of their own.
CONTEXT_MARGIN = 0.15


def visible_events(events: list[dict], listener: str, topology: Topology, params: dict, roles: list[str]) -> list[dict]:
    return [e for e in events if topology.can_see(listener, e, params, roles)]


def system_prompt(role: dict, roster: list[dict], brief: str, protocol_title: str, extra_rules: str = "") -> str:
    others = "\n".join(
        f"- {r['name']}: {r.get('expertise') or r.get('persona', '')[:120]}" for r in roster if r["name"] != role["name"]
    )
    parts = [
        role.get("persona") or f"You are {role['name']}.",
        f"Your name in this team is {role['name']}.",
    ]
    if role.get("goals"):
        parts.append(f"Your goals: {role['goals']}")
    if role.get("traits"):
        parts.append(f"Your traits: {', '.join(role['traits'])}")
    parts.append(f"The team works by this protocol: {protocol_title}.")
    if others:
        parts.append(f"Your teammates:\n{others}")
    if brief:
        parts.append(f"The task:\n{brief}")
    if extra_rules:
        parts.append(extra_rules)
    parts.append("Be concise: a few sentences unless asked for more.")
    return "\n\n".join(parts)


def render_event(event: dict, listener: str) -> dict | None:
    """One visible event as a chat message from `listener`'s point of view."""
    kind, actor, payload = event["kind"], event["actor"], event["payload"]
    if kind == "message":
        text = payload.get("text", "")
        if actor == listener:
            return {"role": "assistant", "content": text}
        if actor.startswith("user:"):
            who = "the facilitator"
            prefix = f"[whisper from {who}] " if event.get("audience") else f"[{who}] "
            return {"role": "user", "content": prefix + text}
        prefix = f"[whisper from {actor}] " if event.get("audience") else f"{actor}: "
        return {"role": "user", "content": prefix + text}
    if kind in {"notice", "tally", "scenario_state"} and payload.get("text"):
        return {"role": "user", "content": f"[{actor if actor != 'system' else 'note'}] {payload['text']}"}
    if kind == "plan":
        return {"role": "user", "content": f"[plan updated by {actor}]\n{plan_mod.as_text(payload.get('plan', {}))}"}
    return None


def build_messages(
    *, role: dict, roster: list[dict], brief: str, protocol_title: str, turn: Turn, events: list[dict],
    topology: Topology, topology_params: dict, plan: dict, extra_rules: str = "", observation: str = "",
    budget_tokens: int = 0, older_unread: bool = False,
) -> list[dict]:
    """`budget_tokens` (0: no limit) is what the whole prompt may take;
    `older_unread`: `events` is not the whole log, so more was left out."""
    names = [r["name"] for r in roster]
    seen = visible_events(events, role["name"], topology, topology_params, names)
    system = {"role": "system", "content": system_prompt(role, roster, brief, protocol_title, extra_rules)}
    closing = []
    if plan.get("steps"):
        closing.append(f"The shared plan now:\n{plan_mod.as_text(plan)}")
    if observation:
        closing.append(f"What you observe privately:\n{observation}")
    closing.append(turn.instruction or "It is your turn. Speak to the team.")
    last = {"role": "user", "content": "\n\n".join(closing)}

    history: list[dict] = []
    left = budget_tokens - estimate_message_tokens(system) - estimate_message_tokens(last) - NOTE_TOKENS
    kept = 0
    for event in reversed(seen):
        rendered = render_event(event, role["name"])
        if rendered is None:
            kept += 1
            continue
        cost = estimate_message_tokens(rendered)
        if budget_tokens and cost > left:
            if not history and left > 64:  # the newest event alone is too long: its start, marked as cut
                rendered["content"] = rendered["content"][:(left - 16) * 3] + " …(cut to fit the context)"
                history.append(rendered)
                kept += 1
            break
        left -= cost
        history.append(rendered)
        kept += 1
    history.reverse()
    omitted = sum(1 for e in seen[:len(seen) - kept] if render_event(e, role["name"]) is not None)
    messages = [system]
    if omitted or older_unread:
        count = (f"at least {omitted} older events" if omitted else "older events") if older_unread \
            else f"{omitted} older event{'s' if omitted != 1 else ''}"
        messages.append({"role": "user", "content": f"[note] {count} of this session are left out "
                                                    f"to fit the model's context; the newest follow."})
    return [*messages, *history, last]


NOTE_TOKENS = 32  # room for the note about left-out events


def budget_for(context_window: int, max_tokens: int) -> int:
    """Tokens a prompt may take on a server with this context and reply limit."""
    return max(256, int(context_window * (1 - CONTEXT_MARGIN)) - max_tokens)
