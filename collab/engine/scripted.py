"""Offline scripted agents: deterministic replies per role, protocol and
purpose, composed from what the role can see, so the app demos with no model
server and tests are repeatable. Replies react to the latest message a role
saw (a facilitator's note, a human teammate), which is what makes a scripted
session feel alive."""

import hashlib
import json

from collab.engine.protocols.base import Ctx, Turn

OPENERS = [
    "Building on that,", "Here is my take:", "Good point.", "Let me push on this.", "From my side,",
    "Two things.", "Picking this up:", "I agree in part.",
]
MOVES = [
    "I suggest we split the work into small, testable pieces and check each one before moving on.",
    "The main risk is an unclear requirement; let us write down what done means before going further.",
    "I can take the next step and report back with concrete results.",
    "We should compare two options on cost, risk and time, then pick one and commit.",
    "Let me list what we know, what we assume, and what we still need to find out.",
    "A quick prototype would tell us more than another round of discussion.",
    "I would keep the scope small so that we finish something that works.",
    "Let us make sure every perspective on the team has been heard before deciding.",
]


def _pick(items: list[str], *keys: object) -> str:
    digest = hashlib.sha256(":".join(map(str, keys)).encode()).digest()
    return items[int.from_bytes(digest[:4], "big") % len(items)]


def _last_heard(seen: list[dict], me: str) -> dict | None:
    """What to react to: a facilitator's note since this role last spoke
    (a note sent while a teammate was mid-reply must not be lost behind that
    reply), else the latest message by someone else."""
    latest = None
    for event in reversed(seen):
        if event["kind"] != "message":
            continue
        if event["actor"] == me:
            break
        if event["actor"].startswith("user:"):
            return event
        latest = latest or event
    if latest is not None:
        return latest
    return next((e for e in reversed(seen) if e["kind"] == "message" and e["actor"] != me), None)


def reply(role: dict, turn: Turn, ctx: Ctx, seen: list[dict]) -> str:
    me = role["name"]
    if me in turn.scripted:
        return turn.scripted[me]
    key = (ctx.seed, ctx.turn_index, me)
    if turn.purpose == "pick_next":
        names = [n for n in ctx.names if n != me] or ctx.names
        last = next((e["actor"] for e in reversed(seen) if e["kind"] == "message" and e["actor"] in names), None)
        choice = names[(names.index(last) + 1) % len(names)] if last in names else names[0]
        return json.dumps({"next": choice, "reason": f"{choice} has not spoken most recently."})
    if turn.purpose == "vote":
        options = turn.schema["properties"]["vote"]["enum"]
        return json.dumps({"vote": _pick(options, ctx.seed, me), "reason": "It best fits the arguments I heard."})
    if turn.purpose == "review":
        loops = sum(ctx.pstate.get("loops", {}).values()) + ctx.pstate.get("vetoes", 0)
        verdict = "revise" if loops == 0 else "approve"
        note = ("I found an edge case that fails; please fix it and add a test." if verdict == "revise"
                else "The fixes hold up and the tests pass. Approved.")
        return json.dumps({"message": note, "verdict": verdict})
    if turn.purpose == "plan_draft":
        steps = [
            {"text": "Agree on the goal and what done means", "owner": ctx.names[0], "status": "todo"},
            {"text": "Do the main piece of work", "owner": ctx.names[1 % len(ctx.names)], "status": "todo"},
            {"text": "Check the result and report", "owner": ctx.names[-1], "status": "todo"},
        ]
        return json.dumps({"message": f"{me} drafted a {len(steps)}-step plan with an owner for each step.",
                           "steps": steps})
    if turn.purpose == "progress":
        pending = [i for i, s in enumerate(ctx.plan.get("steps", [])) if s["status"] != "done"]
        index = pending[0] if pending else 0
        text = ctx.plan["steps"][index]["text"] if ctx.plan.get("steps") else "the step"
        return json.dumps({"message": f"Done: {text}.", "step": index + 1, "status": "done"})

    heard = _last_heard(seen, me)
    parts = [_pick(OPENERS, *key)]
    if heard is not None:
        snippet = " ".join(str(heard["payload"].get("text", "")).split()[:12])
        if heard["actor"].startswith("user:"):
            parts = [f"Responding to the facilitator's note (\"{snippet}\"):"]
        elif heard["payload"].get("human"):
            parts = [f"Thanks, {heard['actor']}: you said \"{snippet}\"."]
        elif heard.get("audience"):
            parts.append(f"(I got {heard['actor']}'s whisper.)")
        else:
            parts.append(f"{heard['actor']} raised a fair point.")
    if role.get("expertise"):
        parts.append(f"Speaking as the {role['name']} ({role['expertise']}):")
    parts.append(_pick(MOVES, *key, "move"))
    if turn.phase:
        parts.append(f"That is where I stand in {turn.phase}.")
    return " ".join(parts)
