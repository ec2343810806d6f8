"""HTML fragments for the htmx ws extension: out-of-band swaps keyed by id.
Every event fragment carries its seq (id="ev-<seq>", data-seq)."""

import re
from collections import OrderedDict

from django.template.loader import render_to_string
from django.utils.html import escape

from collab.engine import plan as plan_mod
from collab.live import actions


def dom_key(actor: str) -> str:
    """A role name made safe for an element id and a CSS selector."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", actor)


def event_context(event: dict, roles: dict[str, dict]) -> dict:
    actor = event["actor"]
    role = roles.get(actor)
    payload = event.get("payload") or {}
    return {
        "e": event,
        "p": payload,
        "role": role,
        "is_role": role is not None,
        "is_user": actor.startswith("user:"),
        "who": actor.removeprefix("user:"),
        "action": actions.action_view(payload.get("action")) if event["kind"] == "action" else None,
        "round_row": actions.round_row(payload) if event["kind"] == "scenario_state" else None,
    }


def render_event(event: dict, roles: dict[str, dict]) -> str:
    return render_to_string("live/event.html", event_context(event, roles))


def event_oob(event: dict, roles: dict[str, dict]) -> str:
    parts = [f'<div hx-swap-oob="beforeend:#stream">{render_event(event, roles)}</div>']
    if event["kind"] == "plan":
        parts.append(plan_board(event["payload"].get("plan", {}), event["payload"].get("diff", []), oob=True))
    if event["kind"] == "scenario_state":
        parts.append(scenario_live(event["payload"], oob=True))
        row = actions.round_row(event["payload"])
        if row:  # appended to the round-by-round list beside the chart
            parts.append(f'<ol hx-swap-oob="beforeend:#round-rows">'
                         f'{render_to_string("live/round_row.html", {"r": row})}</ol>')
    if event["kind"] == "state":
        parts.append(render_to_string("live/status_badge.html", {
            "status": event["payload"]["status"], "awaiting": event["payload"].get("awaiting", []), "oob": True}))
        if event["payload"].get("ended_by"):
            parts.append(run_outcome(event["payload"], oob=True))
        if event["payload"].get("provisional"):  # only scenario sessions, whose page has the panel
            parts.append('<p id="scenario-provisional" hx-swap-oob="true" class="notice-cut-short"><strong>'
                         "Provisional scores:</strong> the run was cut short before the scenario ended.</p>")
    if event["kind"] in {"intervention"} or (event["kind"] == "message" and (event["payload"] or {}).get("intervention")):
        parts.append(f'<div hx-swap-oob="afterbegin:#timeline">{render_to_string("live/timeline_item.html", {"e": event, "p": event["payload"]})}</div>')
    parts.append(f'<div id="last-seq" hx-swap-oob="true" data-seq="{event["seq"]}"></div>')
    return "".join(parts)


_rendered: "OrderedDict[tuple[int, int], str]" = OrderedDict()
RENDER_CACHE_SIZE = 2000


def event_oob_cached(session_id: int, event: dict, roles: dict[str, dict]) -> str:
    """Render an event once per process, not once per observer: every
    observer of a session gets the same fragment for the same seq."""
    key = (session_id, event["seq"])
    html = _rendered.get(key)
    if html is None:
        html = _rendered[key] = event_oob(event, roles)
        if len(_rendered) > RENDER_CACHE_SIZE:
            _rendered.popitem(last=False)
    return html


def plan_board(plan: dict, changes: list[dict] | None = None, oob: bool = False) -> str:
    changed = {c["index"] for c in changes or [] if c["op"] != "remove"}
    steps = [{**s, "n": i + 1, "changed": i in changed} for i, s in enumerate(plan.get("steps", []))]
    return render_to_string("live/plan_board.html", {
        "steps": steps, "version": plan.get("version", 0), "oob": oob, "statuses": plan_mod.STATUSES})


def plan_edit_fields(plan: dict, roles: list[dict]) -> str:
    """The plan editor's fields at this plan's version (for the owner's pages only: others have no editor)."""
    return render_to_string("live/plan_edit_fields.html", {
        "plan_steps": plan.get("steps", []), "plan_version": plan.get("version", 0), "roles": roles,
        "plan_statuses": plan_mod.STATUSES, "oob": True})


def turn_start(turn: int, actors: list[str], roles: dict[str, dict], live: bool, texts: dict | None = None) -> str:
    bubbles = "".join(render_to_string("live/streaming.html", {
        "turn": turn, "actor": a, "key": dom_key(a), "role": roles.get(a), "live": live, "text": (texts or {}).get(a, "")})
        for a in actors)
    return f'<div hx-swap-oob="beforeend:#stream">{bubbles}</div>'


def bubbles_gone(keys) -> str:
    """Delete typing bubbles, given as (turn, actor); only ones the page shows, so each delete has its target."""
    return "".join(f'<div id="live-{turn}-{dom_key(actor)}" hx-swap-oob="delete"></div>' for turn, actor in keys)


def delta(turn: int, actor: str, text: str) -> str:
    return f'<div hx-swap-oob="beforeend:#live-body-{turn}-{dom_key(actor)}">{escape(text)}</div>'


def delta_reset(turn: int, actor: str) -> str:
    return f'<div id="live-body-{turn}-{dom_key(actor)}" hx-swap-oob="true" class="msg-body"></div>'


def stats(stats: dict) -> str:
    return render_to_string("live/stats.html", {"s": stats, "oob": True})


def presence(names: list[str]) -> str:
    return render_to_string("live/presence.html", {"names": names, "oob": True})


def flash(text: str, level: str = "error") -> str:
    return (f'<div id="live-flash" hx-swap-oob="true" class="flash flash-{level}" role="alert">'
            f"{escape(text)}</div>")


def feedback(target_id: str, text: str) -> str:
    """A confirmation next to the control that was used (an element the page always has for it)."""
    return (f'<p id="{target_id}" hx-swap-oob="true" class="control-feedback is-shown" role="status" '
            f'aria-live="polite">{escape(text)}</p>')


def reload_page() -> str:
    return '<div id="live-reload" hx-swap-oob="true" data-reload="1"></div>'


def run_outcome(final_state: dict | None, oob: bool = False) -> str:
    """The "cut short" notice, from the payload of the state event that ended the session."""
    from collab.sessions.selectors import ENDED_BY_RULES

    ended_by = (final_state or {}).get("ended_by", "")
    return render_to_string("live/run_outcome.html", {
        "cut_short": bool(final_state) and ended_by not in ENDED_BY_RULES, "ended_by": ended_by,
        "provisional": bool((final_state or {}).get("provisional")), "oob": oob})


def scenario_live_context(payload: dict | None) -> dict:
    from collab.live.charts import render_chart

    payload = payload or {}
    return {"chart_html": render_chart(payload.get("chart")), "metrics": payload.get("metrics") or {},
            "title": payload.get("title", "")}


def scenario_live(payload: dict | None, oob: bool = False) -> str:
    """The scenario's metrics and live chart, from its latest scenario_state event."""
    return render_to_string("live/scenario_live.html", {**scenario_live_context(payload), "oob": oob})


def scenario_panel(latest: dict | None, rounds: list[dict], provisional: bool = False) -> str:
    """The whole panel: metrics and chart beside a round-by-round table (one row per scenario_state payload)."""
    rows = [row for row in map(actions.round_row, rounds) if row]
    return render_to_string("live/chart.html", {**scenario_live_context(latest), "rounds": rows,
                                                 "provisional": provisional})


def seats(context: dict, composer: bool) -> str:
    """The seat list (and, when asked, the composer) for one viewer, as out-of-band swaps."""
    html = render_to_string("live/seats.html", {**context, "oob": True})
    if composer:
        html += render_to_string("live/composer.html", {**context, "oob": True})
    return html
