"""Prompt building: an agent's messages come only from the events it can see."""

from collab.engine import plan as plan_mod
from collab.engine.protocols.base import Turn
from collab.engine.topologies import Topology

HISTORY_LIMIT = 40


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
) -> list[dict]:
    names = [r["name"] for r in roster]
    seen = visible_events(events, role["name"], topology, topology_params, names)[-HISTORY_LIMIT:]
    messages = [{"role": "system", "content": system_prompt(role, roster, brief, protocol_title, extra_rules)}]
    for event in seen:
        rendered = render_event(event, role["name"])
        if rendered:
            messages.append(rendered)
    closing = []
    if plan.get("steps"):
        closing.append(f"The shared plan now:\n{plan_mod.as_text(plan)}")
    if observation:
        closing.append(f"What you observe privately:\n{observation}")
    closing.append(turn.instruction or "It is your turn. Speak to the team.")
    messages.append({"role": "user", "content": "\n\n".join(closing)})
    return messages
