"""Reads on sessions and their logs."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform

from collab.live import actions
from collab.sessions.events import serialize
from collab.sessions.models import Event, Membership, Seat, Session

# How a run ended: the `ended_by` of its final `state` event. Experiments and
# exports rely on these values; keep them stable.
ENDED_BY_PROTOCOL = "protocol"  # the coordination protocol reached its own end (vote taken, rounds done...)
ENDED_BY_SCENARIO = "scenario"  # the scenario's rules ended it (lake collapsed, goal reached, all months played...)
ENDED_BY_MAX_TURNS = "max_turns"  # cut short: the session's turn limit came first
ENDED_BY_BUDGET = "budget"  # cut short: the token or cost budget was spent
ENDED_BY_ERROR = "error"  # failed: a turn kept crashing
ENDED_BY_OWNER = "owner"  # the owner pressed Stop
ENDED_BY_RULES = frozenset({ENDED_BY_PROTOCOL, ENDED_BY_SCENARIO})


def final_state(session: Session) -> dict | None:
    """The payload of the `state` event that ended the session; None while it has not ended."""
    if not session.is_over:
        return None
    event = (Event.objects.filter(session=session, kind="state", payload__status__in=[
        Session.Status.FINISHED, Session.Status.FAILED]).order_by("-seq").only("payload").first())
    return event.payload if event else None


def completed_by_rules(session: Session) -> bool:
    """True only when the protocol or the scenario ended the session by its own
    rules, read from the final `state` event's `ended_by`:

    - "protocol": the coordination protocol reached its end (True);
    - "scenario": the scenario's rules ended it (True);
    - "max_turns": cut short by the session's turn limit (False);
    - "budget": cut short by the token or cost budget (False);
    - "error": the session failed (False);
    - "owner": stopped by the owner's Stop action (False).

    A session still running, paused or in draft has not completed: False.
    A run that did not complete by its rules has provisional scores.
    """
    final = final_state(session)
    return bool(final) and final.get("ended_by") in ENDED_BY_RULES


def run_outcome(session: Session) -> dict:
    """How the session ended, for the page, the transcript and headless runs:
    ended_by, completed_by_rules, and whether its scenario scores are provisional."""
    final = final_state(session)
    ended_by = (final or {}).get("ended_by", "")
    completed = ended_by in ENDED_BY_RULES
    return {
        "ended": final is not None, "ended_by": ended_by, "completed_by_rules": completed,
        "cut_short": final is not None and not completed,
        "provisional": bool(session.scenario) and not completed,
    }


def status_reason(session: Session) -> str:
    """Why the session is where it is: its end reason once over, else the
    reason its latest state change gave (a pause's cause, whom it awaits)."""
    if session.end_reason or session.is_over:
        return session.end_reason
    event = Event.objects.filter(session=session, kind="state").order_by("-seq").only("payload").first()
    return (event.payload or {}).get("reason", "") if event else ""


def latest_scenario_state(session: Session) -> dict | None:
    """The payload of the last scenario_state event: the scenario's metrics (its scores) so far."""
    event = Event.objects.filter(session=session, kind="scenario_state").order_by("-seq").only("payload").first()
    return event.payload if event else None


def events_after(session_id: int, after: int, limit: int) -> tuple[list[dict], int]:
    """The events after seq `after` (at most `limit`) and the session's last seq."""
    last = Session.objects.filter(pk=session_id).values_list("last_seq", flat=True).first() or 0
    rows = Event.objects.filter(session_id=session_id, seq__gt=after).order_by("seq")[:limit]
    return [serialize(e) for e in rows], last


def events_iter(session_id: int, chunk: int = 2000):
    """Every event of a session in seq order, read in chunks (exports, replay)."""
    return Event.objects.filter(session_id=session_id).order_by("seq").iterator(chunk_size=chunk)


def events_between(session_id: int, first: int, last: int) -> list[Event]:
    return list(Event.objects.filter(session_id=session_id, seq__gte=first, seq__lte=last).order_by("seq"))


def event_at(session_id: int, seq: int) -> Event | None:
    return Event.objects.filter(session_id=session_id, seq=seq).first()


def llm_calls_for(session_id: int, turn_index: int | None, actor: str) -> list:
    """The model calls behind one agent's turn: what it was sent and got back."""
    from collab.sessions.models import LLMCall

    if turn_index is None:
        return []
    return list(LLMCall.objects.filter(session_id=session_id, turn_index=turn_index, actor=actor).order_by("id"))


def turns_with_calls(session_id: int, events) -> set[tuple[int, str]]:
    """(turn index, actor) of those `events` that have model calls behind
    them, in one query; an imported session has none."""
    from collab.sessions.models import LLMCall

    turns = {e.turn_index for e in events if e.turn_index is not None}
    if not turns:
        return set()
    return set(LLMCall.objects.filter(session_id=session_id, turn_index__in=turns)
               .values_list("turn_index", "actor").distinct())


def stats(session: Session) -> dict:
    return {
        "status": session.status, "turn": session.next_turn, "max_turns": session.max_turns,
        "tokens": session.tokens_used, "tokens_estimated": session.tokens_estimated,
        "cost": float(session.cost_used), "end_reason": session.end_reason,
        "agent_replies": session.agent_replies, "defaulted_replies": session.defaulted_replies,
        "scores_unreliable": session.is_over and session.scores_unreliable,
    }


def seats(session_id: int) -> list[Seat]:
    return list(Seat.objects.filter(session_id=session_id).select_related("user"))


def seat_view(session: Session, seats: list[Seat], user, capacity: str | None) -> dict:
    """What the seat list and the composer show to one viewer."""
    my_seat = next((s for s in seats if s.user_id == user.pk and s.holder == Seat.Holder.HUMAN), None)
    awaiting = (session.state or {}).get("awaiting") or {}
    waiting_on = [r for r in awaiting.get("roles", []) if r not in awaiting.get("inputs", {})]
    return {
        "session": session, "viewer_id": user.pk, "seats": seats, "my_seat": my_seat,
        "can_sit": capacity in {Membership.Capacity.OWNER, Membership.Capacity.PARTICIPANT},
        "my_turn": bool(my_seat and session.status == Session.Status.AWAITING_HUMAN and my_seat.role_name in waiting_on),
        "awaiting": awaiting,
        "awaiting_roles": waiting_on if session.status == Session.Status.AWAITING_HUMAN else [],
    }


def score_form(session: Session, user) -> list[dict]:
    """The rubric of a design-review session whose proposal is in, each
    criterion with the level and comment this user saved last (level 0 and no
    comment before a first scoring); empty when there is nothing to score."""
    scenario_state = (session.state or {}).get("protocol", {})
    if session.scenario != "design_review" or not scenario_state.get("proposal"):
        return []
    saved = scenario_state.get("scores", {}).get(user.username, {})
    notes = scenario_state.get("comments", {}).get(user.username, {})
    return [{**c, "saved_level": saved.get(c["name"], 0), "saved_comment": notes.get(c["name"], "")}
            for c in scenario_state.get("params", {}).get("rubric", [])]


MARKER_KINDS = {"vote": "vote", "tally": "vote", "plan": "plan", "scenario_state": "round"}


def timeline_markers(session_id: int) -> list[dict]:
    """The moments a replay's scrubber marks: interventions, seat changes,
    votes, plan changes and scenario rounds, without reading whole payloads."""
    rows = (Event.objects.filter(session_id=session_id)
            .filter(Q(kind__in=["intervention", *MARKER_KINDS]) | Q(payload__has_key="intervention"))
            .annotate(action=KeyTextTransform("action", "payload"), via=KeyTextTransform("intervention", "payload"))
            .order_by("seq").values_list("seq", "kind", "action", "via"))
    markers = []
    for seq, kind, action, via in rows:
        if kind == "intervention" or via:
            what = "seat" if (action or "").startswith("seat_") else "intervention"
            markers.append({"seq": seq, "type": what, "title": (action or via or "intervention").replace("_", " ")})
        else:
            markers.append({"seq": seq, "type": MARKER_KINDS[kind], "title": kind.replace("_", " ")})
    return markers


@dataclass
class TranscriptFilter:
    """A transcript filter another app adds (research adds "label"), so
    sessions never imports it: choices for the form, and the seqs it keeps."""

    name: str
    title: str
    choices: callable = field(repr=False)  # (session, user) -> [(value, text)]
    seqs: callable = field(repr=False)  # (session, user, value) -> set of seqs

    def __hash__(self):
        return hash(self.name)


TRANSCRIPT_FILTERS: dict[str, TranscriptFilter] = {}


def shown_text(kind: str, payload: dict) -> str:
    """The words the page shows for an action or a plan event (see
    templates/live/event.html and action.html), for text search."""
    if kind == Event.Kind.ACTION:
        view = actions.action_view(payload.get("action"))
        parts = [view.get("summary"), view.get("message"), view.get("rationale"), *view.get("items", [])]
        for key in ("sections", "scores", "fields"):
            parts += [str(x) for pair in view.get(key, []) for x in pair]
        return "\n".join(str(p) for p in parts if p)
    if kind == Event.Kind.PLAN:
        plan = payload.get("plan") if isinstance(payload.get("plan"), dict) else {}
        steps = [*(plan.get("steps") or []), *(c.get("after") for c in payload.get("diff") or [] if isinstance(c, dict))]
        return "\n".join([str(payload.get("why") or ""), *(str(s.get("text") or "") for s in steps if isinstance(s, dict))])
    return ""


def text_search(session: Session, text: str) -> Q:
    """Events whose shown text holds `text` (any case): a message's or
    notice's text, a vote's choice and reason, an action's content, a plan's
    reason and steps. Actions and plans have nested shapes, so their few
    rows are matched here rather than in SQL."""
    needle = text.casefold()
    nested = [seq for seq, kind, payload in Event.objects.filter(
        session=session, kind__in=[Event.Kind.ACTION, Event.Kind.PLAN]).values_list("seq", "kind", "payload").iterator()
        if needle in shown_text(kind, payload or {}).casefold()]
    return (Q(payload__text__icontains=text) | Q(seq__in=nested)
            | Q(kind=Event.Kind.VOTE) & (Q(payload__reason__icontains=text) | Q(payload__vote__icontains=text)))


def transcript_events(session: Session, user, params) -> tuple[object, dict]:
    """The events a transcript shows under its filters (actor, kind, turn,
    text, and any added filter), and the filters that were applied."""
    rows = Event.objects.filter(session=session).order_by("seq")
    applied = {}
    if params.get("role"):
        rows, applied["role"] = rows.filter(actor=params["role"]), params["role"]
    if params.get("kind") in Event.Kind.values:
        rows, applied["kind"] = rows.filter(kind=params["kind"]), params["kind"]
    if (params.get("round") or "").isdigit():
        rows, applied["round"] = rows.filter(turn_index=int(params["round"])), params["round"]
    text = (params.get("q") or "").strip()[:200]
    if text:
        rows, applied["q"] = rows.filter(text_search(session, text)), text
    for extra in TRANSCRIPT_FILTERS.values():
        if params.get(extra.name):
            rows, applied[extra.name] = rows.filter(seq__in=extra.seqs(session, user, params[extra.name])), params[extra.name]
    return rows, applied


def transcript_choices(session: Session) -> dict:
    actors = sorted(set(Event.objects.filter(session=session).values_list("actor", flat=True).distinct()))
    turns = sorted(set(Event.objects.filter(session=session, turn_index__isnull=False)
                       .values_list("turn_index", flat=True).distinct()))
    return {"actors": actors, "kinds": Event.Kind.choices, "turns": turns}
def outcome(session_id: int) -> dict:
    """How a session ended, from its log: status, the final state event's
    ended_by and reason, the last scenario metrics, tokens, cost, and the
    wall time from its first running state to its last state event."""
    session = Session.objects.get(pk=session_id)
    states = list(Event.objects.filter(session_id=session_id, kind=Event.Kind.STATE).order_by("seq")
                  .values("payload", "created_at"))
    started = next((e["created_at"] for e in states if e["payload"].get("status") == Session.Status.RUNNING), None)
    final = states[-1] if states else None
    scenario = (Event.objects.filter(session_id=session_id, kind=Event.Kind.SCENARIO_STATE).order_by("-seq")
                .values_list("payload", flat=True).first())
    ended = final is not None and final["payload"].get("status") in {Session.Status.FINISHED, Session.Status.FAILED}
    return {
        "status": session.status,
        "ended_by": final["payload"].get("ended_by", "") if ended else "",
        "reason": final["payload"].get("reason", "") if ended else "",
        "metrics": (scenario or {}).get("metrics", {}),
        "tokens": session.tokens_used,
        "cost": session.cost_used,
        "started_at": started,
        "finished_at": final["created_at"] if ended else None,
        "wall_seconds": (final["created_at"] - started).total_seconds() if ended and started else None,
    }


def paused_by_engine(session_id: int) -> str:
    """Why the engine paused a session (a model failing), or "" when its
    latest state change is not such a pause (the owner's pause or step)."""
    latest = (Event.objects.filter(session_id=session_id, kind=Event.Kind.STATE).order_by("-seq")
              .values("actor", "payload").first())
    if not latest or latest["actor"] != "system" or latest["payload"].get("status") != Session.Status.PAUSED:
        return ""
    reason = latest["payload"].get("reason", "")
    return "" if reason == "paused after one step" else reason


def scenario_points(session_id: int) -> list[dict]:
    """Each scenario_state event's round, turn and metrics, in log order."""
    rows = Event.objects.filter(session_id=session_id, kind=Event.Kind.SCENARIO_STATE).order_by("seq").values(
        "seq", "turn_index", "payload")
    return [{"seq": r["seq"], "turn_index": r["turn_index"], "round": r["payload"].get("round"),
             "metrics": r["payload"].get("metrics", {})} for r in rows]


def turn_messages(session_id: int, after_seq: int = 0) -> dict[int, list[dict]]:
    """Messages and actions after a seq, grouped by turn index."""
    rows = (Event.objects.filter(session_id=session_id, seq__gt=after_seq, kind__in=[Event.Kind.MESSAGE,
                                                                                     Event.Kind.ACTION])
            .exclude(turn_index=None).order_by("seq").values("seq", "kind", "actor", "payload", "turn_index"))
    turns: dict[int, list[dict]] = {}
    for r in rows:
        text = r["payload"].get("text") if r["kind"] == Event.Kind.MESSAGE else str(r["payload"].get("action"))
        turns.setdefault(r["turn_index"], []).append({"seq": r["seq"], "actor": r["actor"], "text": text or ""})
    return turns


def fork_choices(session_id: int, limit: int = 400) -> list[dict]:
    """The latest events of a session, newest first, to pick a fork point from."""
    rows = Event.objects.filter(session_id=session_id).order_by("-seq")[:limit].values(
        "seq", "kind", "actor", "payload", "turn_index")
    return [{"seq": r["seq"], "kind": r["kind"], "actor": r["actor"], "turn_index": r["turn_index"],
             "text": str(r["payload"].get("text") or r["payload"].get("action") or "")[:140]} for r in rows]


def settled(session_ids: list[int]) -> set[int]:
    """Of these sessions, the ones not running on: finished, failed or paused."""
    return set(Session.objects.filter(pk__in=session_ids, status__in=[
        Session.Status.FINISHED, Session.Status.FAILED, Session.Status.PAUSED]).values_list("pk", flat=True))
