"""Scenario actions and rounds as readable content: what the page shows for an
action event (a proposal as a document, judge scores as a table, a ranking as
a list, a move or a catch as labelled values), and one summary row per round
of a scenario, never the dict text of the payload."""

MESSAGE_KEY = "message"
# Round-report keys that repeat what the row already shows, or are too big for a cell.
SKIPPED_FIGURES = {"phase", "round", "actions", "scorer", "verdict", "scores"}


def label(key: str) -> str:
    return key.replace("_", " ")


def show(value) -> str:
    """A scalar for a table cell: yes/no, at most 3 decimals, short text."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(show(v) for v in value[:8]) + (f", … ({len(value)} in all)" if len(value) > 8 else "")
    if isinstance(value, dict):
        return ", ".join(f"{label(k)} {show(v)}" for k, v in list(value.items())[:8])
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def fraction(key: str, value) -> str:
    if key.endswith("_fraction") and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value * 100:.0f}%"
    return show(value)


def action_view(action) -> dict:
    """The shape of an action, for templates/live/action.html."""
    if not isinstance(action, dict) or not action:
        return {"shape": "nothing"}
    message = action.get(MESSAGE_KEY) if isinstance(action.get(MESSAGE_KEY), str) else ""
    if isinstance(action.get("proposal"), str):
        sections = action.get("sections") if isinstance(action.get("sections"), dict) else {}
        return {"shape": "proposal", "summary": action["proposal"], "message": message,
                "sections": [(str(k), v if isinstance(v, str) else show(v)) for k, v in sections.items()]}
    if isinstance(action.get("scores"), dict):
        rationale = action.get("rationale")
        return {"shape": "scores", "message": message,
                "rationale": rationale if isinstance(rationale, str) else show(rationale) if rationale else "",
                "scores": [(str(k), show(v)) for k, v in action["scores"].items()]}
    if isinstance(action.get("ranking"), list):
        return {"shape": "ranking", "message": message, "items": [show(item) for item in action["ranking"]]}
    fields = [(label(k), fraction(k, v)) for k, v in action.items() if k != MESSAGE_KEY]
    return {"shape": "fields", "fields": fields, "message": message}


def action_brief(action) -> str:
    """An action in a few words, for a round's row."""
    view = action_view(action)
    if view["shape"] == "proposal":
        return f"proposal, {len(view['sections'])} sections"
    if view["shape"] == "scores":
        return "scores " + " / ".join(score for _, score in view["scores"])
    if view["shape"] == "ranking":
        return f"ranking: {', '.join(view['items'][:3])}…" if len(view["items"]) > 3 else ", ".join(view["items"])
    if view["shape"] == "nothing":
        return "nothing"
    fields = view["fields"]
    return fields[0][1] if len(fields) == 1 else ", ".join(f"{k} {v}" for k, v in fields)


def round_row(payload: dict) -> dict | None:
    """One round of a scenario (a scenario_state event): who did what, and the round's figures."""
    report = payload.get("report") if isinstance(payload.get("report"), dict) else {}
    actions = report.get("actions") if isinstance(report.get("actions"), dict) else {}
    if not report and not payload.get("round"):
        return None
    figures = [(label(k), show(v)) for k, v in report.items()
               if k not in SKIPPED_FIGURES and not isinstance(v, dict | list)]
    return {"round": report.get("round", payload.get("round")) or "–",
            "actions": [(actor, action_brief(action)) for actor, action in actions.items()],
            "figures": figures}
