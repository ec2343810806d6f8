"""The shared plan: steps with text, owner, status and notes. Every change is
an event holding the diff; the plan itself is derived state."""

from collab.core.text import storable

STATUSES = ["todo", "doing", "done", "blocked"]
MAX_STEPS = 30

STEP_SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 500},
        "owner": {"type": "string"},
        "status": {"type": "string", "enum": STATUSES},
        "notes": {"type": "string", "maxLength": 1000},
    },
    "required": ["text"],
}


def empty() -> dict:
    return {"steps": [], "version": 0}


def clean_steps(raw_steps: object, roles: list[str]) -> list[dict]:
    """Validate and normalise a list of steps; raise ValueError with the reason."""
    if not isinstance(raw_steps, list):
        raise ValueError("steps must be a list")
    if len(raw_steps) > MAX_STEPS:
        raise ValueError(f"a plan holds at most {MAX_STEPS} steps")
    steps = []
    for i, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict):
            raise ValueError(f"step {i} must be an object with text, owner, status, notes")
        text = storable(str(raw.get("text", ""))).strip()
        if not text:
            raise ValueError(f"step {i} has no text")
        owner = storable(str(raw.get("owner") or "")).strip()
        if owner and owner not in roles:
            raise ValueError(f"step {i}: owner {owner!r} is not a role ({', '.join(roles)})")
        status = str(raw.get("status") or "todo")
        if status not in STATUSES:
            raise ValueError(f"step {i}: status must be one of {', '.join(STATUSES)}")
        steps.append({"text": text[:500], "owner": owner, "status": status, "notes": storable(str(raw.get("notes") or ""))[:1000]})
    return steps


def diff(before: list[dict], after: list[dict]) -> list[dict]:
    changes = []
    for i in range(max(len(before), len(after))):
        old = before[i] if i < len(before) else None
        new = after[i] if i < len(after) else None
        if old == new:
            continue
        if old is None:
            changes.append({"op": "add", "index": i, "after": new})
        elif new is None:
            changes.append({"op": "remove", "index": i, "before": old})
        else:
            fields = [k for k in ("text", "owner", "status", "notes") if old.get(k) != new.get(k)]
            changes.append({"op": "change", "index": i, "fields": fields, "before": old, "after": new})
    return changes


def as_text(plan: dict) -> str:
    if not plan.get("steps"):
        return "(no plan yet)"
    return "\n".join(
        f"{i}. [{s['status']}] {s['text']}" + (f" (owner: {s['owner']})" if s["owner"] else "")
        + (f" - {s['notes']}" if s["notes"] else "")
        for i, s in enumerate(plan["steps"], 1)
    )


def plan_form_steps(texts: list, owners: list, statuses: list) -> list[dict]:
    """Steps from the plan editor's parallel lists; a row with no text is dropped."""
    def at(values: list, i: int, default: str) -> str:
        return str(values[i]) if i < len(values) else default

    return [{"text": str(t), "owner": at(owners, i, ""), "status": at(statuses, i, "todo")}
            for i, t in enumerate(texts) if str(t).strip()]
