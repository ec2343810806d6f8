"""Writes on sessions: creating, starting and steering them. Each
intervention is checked here (not only in the page) and logged as an event
with its author."""


from django.conf import settings
from django.db import transaction
from django.utils import timezone

from collab import control
from collab.core.text import storable
from collab.engine import plan as plan_mod
from collab.engine import scenarios, status
from collab.engine.protocols import PROTOCOLS
from collab.engine.registry import UnknownName
from collab.engine.runner import continue_or_finish, enqueue
from collab.engine.topologies import TOPOLOGIES
from collab.sessions import events as log
from collab.sessions import permissions, selectors, snapshots, visibility
from collab.sessions.models import Event, Membership, Seat, Session, TurnSnapshot
from collab.sessions.permissions import Refused, require_owner, require_seat_taker, require_unlocked
from collab.teams.models import Team
from collab.teams.services import connection_report, profiles_reread

S = Session.Status
LIVE = {S.RUNNING, S.PAUSED, S.AWAITING_HUMAN}


def author(user) -> str:
    return f"user:{user.username}"


def team_snapshot(team: Team) -> dict:
    roles = [r.snapshot() for r in team.roles.select_related("model_profile").order_by("order", "id")]
    return {"id": team.pk, "name": team.name, "description": team.description, "preset": team.preset, "roles": roles}


@transaction.atomic
def session_create(
    *, owner, team: Team, title: str = "", brief: str = "", protocol: str = "round_robin",
    protocol_params: dict | None = None, topology: str = "everyone", topology_params: dict | None = None,
    provider: str | None = None, max_turns: int = 12, token_budget: int | None = None, cost_budget=None,
    seed: int = 0, human_seats: list[str] | None = None, seat_timeout: int | None = None,
    visibility: str = Session.Visibility.PRIVATE,
) -> Session:
    snapshot = team_snapshot(team)
    names = [r["name"] for r in snapshot["roles"]]
    if not names:
        raise ValueError(f"team {team.name!r} has no roles")
    try:
        proto, topo = PROTOCOLS.get(protocol), TOPOLOGIES.get(topology)
    except UnknownName as exc:
        raise ValueError(str(exc)) from None
    clean_protocol = proto.validate_params(_brief_as_task(protocol, protocol_params or {}, brief), names)
    if protocol == "scenario" and not brief.strip():
        brief = clean_protocol["params"].get("brief", "")  # shown as the session's task
    clean_topology = topo.validate_params(topology_params or {}, names)
    provider = provider or ("openai" if settings.LLM_CONFIGURED else "scripted")
    if provider not in {"scripted", "openai"}:
        raise ValueError("provider must be 'scripted' or 'openai'")
    unknown = [r for r in human_seats or [] if r not in names]
    if unknown:
        raise ValueError(f"no role named {', '.join(unknown)} in the team ({', '.join(names)})")
    if not 1 <= max_turns <= 1000:
        raise ValueError("max_turns must be from 1 to 1000")
    session = Session.objects.create(
        owner=owner, team=team, title=title or default_title(team), brief=brief, team_snapshot=snapshot,
        protocol=protocol, protocol_params=clean_protocol, topology=topology, topology_params=clean_topology,
        provider=provider, max_turns=max_turns, token_budget=token_budget, cost_budget=cost_budget, seed=seed,
        visibility=visibility,
        scenario=clean_protocol.get("scenario", "") if protocol == "scenario" else "",
        scenario_params=clean_protocol.get("params", {}) if protocol == "scenario" else {},
        state={"protocol": proto.init_state(clean_protocol, names, seed), "plan": plan_mod.empty()},
    )
    Membership.objects.create(session=session, user=owner, capacity=Membership.Capacity.OWNER)
    Seat.objects.bulk_create(Seat(session=session, role_name=name, timeout_seconds=seat_timeout) for name in names)
    Seat.objects.filter(session=session, role_name__in=human_seats or []).update(
        holder=Seat.Holder.HUMAN, user=owner, taken_at=timezone.now())
    return session


def default_title(team: Team) -> str:
    """The team and when: sessions of one team told apart at a glance."""
    return f"{team.name} · {timezone.localtime():%-d %b %Y, %H:%M}"


def _brief_as_task(protocol: str, protocol_params: dict, brief: str) -> dict:
    """The brief a user writes is the task: a scenario with a brief of its own
    (the design review's proposal) works on the session's brief, not its default."""
    if protocol != "scenario" or not brief.strip():
        return protocol_params
    try:
        scenario = scenarios.get(protocol_params.get("scenario") or "")
    except scenarios.UnknownScenario:
        return protocol_params  # validate_params names the problem
    if "brief" not in scenario.default_params:
        return protocol_params
    return {**protocol_params, "params": {**(protocol_params.get("params") or {}), "brief": brief}}


def _locked(session: Session) -> Session:
    return log.lock_session(session.pk)


def _require_not_over(session: Session, nothing_done: str) -> None:
    """A finished or failed session's log is closed: a change after its end is refused and writes nothing."""
    if session.is_over:
        raise Refused(f"The session has ended ({session.get_status_display().lower()}): {nothing_done}.")


@transaction.atomic
def session_start(*, session: Session, user) -> Session:
    s = _locked(session)
    require_owner(s, user)
    if s.status != S.DRAFT:
        raise Refused(f"The session is {s.get_status_display().lower()}, not a draft.")
    status.change(s, S.RUNNING, actor=author(user), reason="started")
    enqueue(s.pk, s.next_turn)
    return s


@transaction.atomic
def session_pause(*, session: Session, user) -> Session:
    s = _locked(session)
    require_owner(s, user)
    if s.status not in {S.RUNNING, S.AWAITING_HUMAN}:
        raise Refused(f"Only a running session can be paused (it is {s.get_status_display().lower()}).")
    _intervene(s, user, "pause")
    status.change(s, S.PAUSED, actor=author(user), reason="paused by the owner")
    transaction.on_commit(lambda: control.set_halt(s.pk))
    return s


@transaction.atomic
def session_resume(*, session: Session, user, steps: int = -1) -> Session:
    s = _locked(session)
    require_owner(s, user)
    if s.status != S.PAUSED:
        raise Refused(f"Only a paused session can be resumed (it is {s.get_status_display().lower()}).")
    _intervene(s, user, "step" if steps > 0 else "resume")
    s.step_budget = steps
    # A profile fixed while paused (its server, model or key variable) is what the next turn uses.
    s.team_snapshot, changes = profiles_reread(snapshot=s.team_snapshot)
    s.save(update_fields=["step_budget", "team_snapshot"])
    if changes:
        log.append(s, kind="notice", actor="system", payload={
            "text": "Model profiles re-read on resume: " + " | ".join(changes), "profiles_changed": changes})
    control.clear_halt(s.pk)
    awaiting = (s.state or {}).get("awaiting")
    if awaiting and awaiting.get("turn") == s.next_turn:
        status.change(s, S.AWAITING_HUMAN, actor=author(user), reason=f"waiting for {', '.join(awaiting['roles'])}",
                      extra={"awaiting": awaiting["roles"]})
    else:
        status.change(s, S.RUNNING, actor=author(user), reason="one step" if steps > 0 else "resumed")
        continue_or_finish(s)
    return s


def session_test_connection(*, session: Session, user) -> list[tuple[bool, str]]:
    """Check each model server the session's profiles reach (as they are now, as a resume would use them)."""
    require_owner(session, user)
    return connection_report(snapshot=session.team_snapshot)


def session_step(*, session: Session, user) -> Session:
    return session_resume(session=session, user=user, steps=1)


@transaction.atomic
def session_stop(*, session: Session, user) -> Session:
    s = _locked(session)
    require_owner(s, user)
    if s.status not in LIVE and s.status != S.DRAFT:
        raise Refused("The session has already ended.")
    _intervene(s, user, "stop")
    status.change(s, S.FINISHED, actor=author(user), reason="stopped by the owner", ended_by=selectors.ENDED_BY_OWNER)
    transaction.on_commit(lambda: control.set_halt(s.pk))
    return s


def _check_text(text: str) -> str:
    text = storable(text or "").strip()
    if not text:
        raise Refused("The message is empty.")
    if len(text) > settings.MAX_HUMAN_MESSAGE_CHARS:
        raise Refused(f"The message is {len(text):,} characters; at most {settings.MAX_HUMAN_MESSAGE_CHARS:,} are allowed.")
    return text


@transaction.atomic
def session_inject(*, session: Session, user, text: str, to_role: str | None = None):
    s = _locked(session)
    require_owner(s, user)
    text = _check_text(text)
    _require_not_over(s, "nothing was sent")
    if to_role and to_role not in s.role_names():
        raise Refused(f"No role named {to_role!r} in this session.")
    return log.append(s, kind="message", actor=author(user), audience=[to_role] if to_role else None,
                      turn_index=s.next_turn,
                      payload={"text": text, "intervention": "whisper" if to_role else "inject", "facilitator": True})


@transaction.atomic
def session_edit_plan(*, session: Session, user, steps: list[dict], base_version: int | str | None):
    """Replace the plan's steps. `base_version` is the plan version the editor
    showed: an edit based on an older one would silently undo the changes made
    since, so it is refused and nothing is written (an optimistic check)."""
    s = _locked(session)
    require_owner(s, user)
    _require_not_over(s, "the plan was not changed")
    state = dict(s.state or {})
    before = state.get("plan", plan_mod.empty())
    current = before.get("version", 0)
    try:
        based_on = int(base_version)
    except (TypeError, ValueError):
        raise Refused("The plan was not changed: the form did not say which plan version it edits; "
                      "reload the page.") from None
    if based_on != current:
        raise Refused(f"The plan was not changed: it is now v{current}, and your edit was based on v{based_on}. "
                      f"The editor now shows v{current}; make your change again.")
    try:
        clean = plan_mod.clean_steps(steps, s.role_names())
    except ValueError as exc:
        raise Refused(f"The plan was not changed: {exc}.") from None
    new_plan = {"steps": clean, "version": current + 1}
    state["plan"] = new_plan
    s.state = state
    s.save(update_fields=["state"])
    return log.append(s, kind="plan", actor=author(user), turn_index=s.next_turn, payload={
        "plan": new_plan, "diff": plan_mod.diff(before.get("steps", []), clean), "why": "edited by the facilitator",
        "intervention": "edit_plan"})


@transaction.atomic
def seat_take(*, session: Session, user, role: str, timeout_seconds: int | None = None) -> Seat:
    s = _locked(session)
    require_seat_taker(s, user)
    _require_not_over(s, "its seats can no longer be taken")
    require_unlocked(s, user)
    seat = Seat.objects.select_for_update().filter(session=s, role_name=role).first()
    if seat is None:
        raise Refused(f"No role named {role!r} in this session.")
    if seat.holder == Seat.Holder.HUMAN and seat.user_id != user.pk:
        raise Refused(f"{role}'s seat is already taken.")
    if Seat.objects.filter(session=s, user=user, holder=Seat.Holder.HUMAN).exclude(pk=seat.pk).exists():
        raise Refused("You already hold a seat in this session; hand it back first.")
    seat.holder, seat.user, seat.taken_at = Seat.Holder.HUMAN, user, timezone.now()
    if timeout_seconds is not None:
        seat.timeout_seconds = timeout_seconds or None
    seat.save()
    _intervene(s, user, "seat_taken", role=role)
    return seat


@transaction.atomic
def seat_release(*, session: Session, user, role: str) -> Seat:
    s = _locked(session)
    seat = Seat.objects.select_for_update().filter(session=s, role_name=role).first()
    if seat is None:
        raise Refused(f"No role named {role!r} in this session.")
    if seat.user_id != user.pk:
        require_owner(s, user)  # the owner may hand back anyone's seat
    _require_not_over(s, "its seats stay as they were")
    if seat.holder != Seat.Holder.HUMAN:
        raise Refused(f"{role}'s seat is held by its agent already.")
    seat.holder, seat.user = Seat.Holder.AGENT, None
    seat.save()
    _intervene(s, user, "seat_left", role=role)
    awaiting = (s.state or {}).get("awaiting") or {}
    if s.status == S.AWAITING_HUMAN and role in awaiting.get("roles", []):
        # The agent takes the turn back at once.
        state = dict(s.state)
        state["awaiting"] = {**awaiting, "timed_out": True}
        s.state = state
        s.save(update_fields=["state"])
        status.change(s, S.RUNNING, actor=author(user), reason=f"{role} handed back to its agent")
        enqueue(s.pk, s.next_turn)
    return seat


@transaction.atomic
def seat_message(*, session: Session, user, role: str, text: str) -> None:
    """A human's message is the role's turn when that role is awaited."""
    s = _locked(session)
    text = _check_text(text)
    _require_not_over(s, "nothing was sent")
    require_unlocked(s, user)
    seat = Seat.objects.filter(session=s, role_name=role).first()
    if seat is None or seat.holder != Seat.Holder.HUMAN or seat.user_id != user.pk:
        raise Refused(f"You do not hold {role}'s seat.")
    awaiting = (s.state or {}).get("awaiting") or {}
    if s.status != S.AWAITING_HUMAN or role not in awaiting.get("roles", []) or awaiting.get("turn") != s.next_turn:
        raise Refused(f"It is not {role}'s turn yet.")
    inputs = {**awaiting.get("inputs", {}), role: {"text": text, "user": user.username}}
    state = dict(s.state)
    state["awaiting"] = {**awaiting, "inputs": inputs}
    s.state = state
    s.save(update_fields=["state"])
    if all(r in inputs for r in awaiting["roles"]):
        status.change(s, S.RUNNING, actor=author(user), reason=f"{role} has spoken")
        enqueue(s.pk, s.next_turn)


@transaction.atomic
def membership_add(*, session: Session, by, user, capacity: str) -> Membership:
    s = _locked(session)
    require_owner(s, by)
    member, _ = Membership.objects.update_or_create(session=s, user=user, defaults={"capacity": capacity})
    access_changed_on_commit(s)
    return member


@transaction.atomic
def membership_remove(*, session: Session, by, user) -> None:
    """The member loses access; a seat they hold in a session still going goes
    back to its agent (an ended session's seats are its history)."""
    s = _locked(session)
    require_owner(s, by)
    if user.pk == s.owner_id:
        raise Refused("The owner cannot be removed from their own session.")
    if not s.is_over:
        for seat in Seat.objects.filter(session=s, user=user, holder=Seat.Holder.HUMAN):
            seat_release(session=s, user=by, role=seat.role_name)
    Membership.objects.filter(session=s, user=user).delete()
    access_changed_on_commit(s)


@transaction.atomic
def session_set_visibility(*, session: Session, by, visibility: str) -> Session:
    s = _locked(session)
    require_owner(s, by)
    if visibility not in Session.Visibility.values:
        raise Refused(f"Visibility must be one of {', '.join(Session.Visibility.values)}.")
    s.visibility = visibility
    s.save(update_fields=["visibility", "updated_at"])
    access_changed_on_commit(s)
    return s


def access_changed_on_commit(session: Session) -> None:
    """Open sockets re-check their viewer once this transaction commits. Any
    change of who may see a session (a course's roster too) calls this."""
    from collab.live import bus

    transaction.on_commit(lambda: bus.publish_access_changed(session.pk))


def _intervene(session: Session, user, action: str, **extra) -> None:
    log.append(session, kind="intervention", actor=author(user), turn_index=session.next_turn,
               payload={"action": action, "text": _INTERVENTION_TEXT[action].format(user=user.username, **extra), **extra})


_INTERVENTION_TEXT = {
    "pause": "{user} paused the session.",
    "resume": "{user} resumed the session.",
    "step": "{user} ran one step.",
    "stop": "{user} stopped the session.",
    "seat_taken": "{user} took {role}'s seat.",
    "seat_left": "{user} handed {role}'s seat back to its agent.",
}



@transaction.atomic
def session_score(*, session: Session, user, scores: dict[str, int], comments: dict[str, str] | None = None):
    """The instructor scores a design proposal against the scenario's rubric,
    with an optional comment per criterion; scoring again replaces the
    instructor's earlier scores. The new scores and metrics are a
    scenario_state event."""
    from collab.engine.protocols.scenario import ScenarioProtocol

    s = _locked(session)
    require_owner(s, user)
    if s.protocol != "scenario" or s.scenario != "design_review":
        raise Refused("Only design-review sessions have a rubric to score.")
    protocol = ScenarioProtocol()
    sc = protocol.scenario(s.protocol_params)
    state = dict(s.state or {})
    try:
        scenario_state = sc.score(state.get("protocol", {}), scores, scorer=user.username, comments=comments)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    state["protocol"] = scenario_state
    s.state = state
    s.save(update_fields=["state"])
    payload = protocol.snapshot(sc, scenario_state, {
        "round": "scoring", "scores": scores, "scorer": user.username,
        "comments": scenario_state["comments"][user.username]})
    payload["text"] = f"{user.username} scored the proposal: " + ", ".join(f"{k} {v}" for k, v in scores.items()) + "."
    payload["intervention"] = "score"
    return log.append(s, kind="scenario_state", actor=author(user), turn_index=s.next_turn, payload=payload)


@transaction.atomic
def session_import(*, owner, header: dict, events: list[dict]) -> Session:
    """A transcript validated elsewhere becomes a finished, read-only session:
    no seats, no team, its events written as they were (seq, times, payloads).
    The header is kept so the session re-exports exactly as it came in."""
    from datetime import datetime

    meta, team = header["session"], header["team"]
    snapshot = {"id": None, "name": team["name"], "description": team["description"], "preset": team["preset"],
                "roles": [{**{k: v for k, v in r.items() if k != "model"}, "model_profile": r["model"]}
                          for r in team["roles"]]}
    scenario = header["scenario"] or {"name": "", "params": {}}
    now = timezone.now()
    session = Session.objects.create(
        owner=owner, title=meta["title"], brief=meta["brief"], team_snapshot=snapshot,
        protocol=header["protocol"]["name"][:40], protocol_params=header["protocol"]["params"],
        topology=header["topology"]["name"][:40], topology_params=header["topology"]["params"],
        scenario=scenario["name"][:40], scenario_params=scenario["params"], provider=header["provider"][:20],
        status=S.FINISHED, end_reason=meta["end_reason"] or "imported", seed=header["seed"],
        max_turns=max(header["max_turns"], 1), last_seq=len(events), finished_at=now,
        state={"imported": {"header": header, "at": now.isoformat()}})
    Membership.objects.create(session=session, user=owner, capacity=Membership.Capacity.OWNER)
    rows = Event.objects.bulk_create(
        Event(session=session, seq=e["seq"], kind=e["kind"], actor=e["actor"], audience=e["audience"],
              payload=e["payload"], turn_index=e["turn_index"]) for e in events)
    # auto_now_add stamped the insert time; the transcript's own times win.
    for row, e in zip(rows, events, strict=True):
        row.created_at = datetime.fromisoformat(e["created_at"]) if e["created_at"] else now
    Event.objects.bulk_update(rows, ["created_at"], batch_size=1000)
    return session


def fork_point(session: Session, at_seq: int) -> tuple[int, dict | None]:
    """Where a fork from event `at_seq` really starts: (last copied seq, the
    snapshot of the last turn it includes, or None before the first turn).
    An event inside a turn's own events takes the whole turn with it, since
    a turn is committed (and so replayed) whole."""
    last = (TurnSnapshot.objects.filter(session=session, first_seq__lte=at_seq).order_by("-turn_index")
            .values("turn_index", "first_seq", "last_seq", "tokens_used", "cost_used").first())
    if last is None:
        if session.forked_from_id and session.forked_at_seq:
            # A fork's copied prefix (and what was added at the fork, before its own first
            # turn) stands on its origin's turns: the same events under the same numbers.
            _, last = fork_point(session.forked_from, min(at_seq, session.forked_at_seq))
            if last is not None:
                state = _with_edits(session, last["state"], last["last_seq"], at_seq)
                protocol = state.get("protocol")
                if session.protocol == "scenario" and isinstance(protocol, dict) and "params" in protocol:
                    # This fork may have changed the scenario's parameters from its origin's.
                    state = {**state, "protocol": {**protocol, "params": session.protocol_params.get("params", {})}}
                last = {**last, "state": state}
        return at_seq, last
    last["state"] = _with_edits(session, snapshots.state_after(session.pk, last["turn_index"]), last["last_seq"], at_seq)
    return max(at_seq, last["last_seq"]), last


def _with_edits(session: Session, state: dict, after_seq: int, upto_seq: int) -> dict:
    """A turn's state with the plan edits made between turns after it, up to
    `upto_seq` (a plan event there is a facilitator's edit carrying the whole plan)."""
    if upto_seq <= after_seq:
        return state
    edit = (Event.objects.filter(session=session, kind="plan", seq__gt=after_seq, seq__lte=upto_seq)
            .order_by("-seq").values_list("payload", flat=True).first())
    if edit and isinstance(edit.get("plan"), dict):
        state = {**state, "plan": edit["plan"]}
    return state


@transaction.atomic
def session_fork(
    *, session: Session, user, at_seq: int, model_profile=None, protocol_params: dict | None = None,
    seat_role: str | None = None, inject: str = "", title: str = "",
) -> Session:
    """A new session owned by `user` that starts from a copy of `session`'s
    log up to event `at_seq` (the whole turn when it is inside one), linked
    to its origin, and continues with what changed: every agent on another
    model profile, protocol parameters merged over the origin's, a seat
    held by `user`, or a message injected at the fork point. The origin is
    never touched."""
    from collab.teams.models import ModelProfile

    if not permissions.can_view(session, user):
        raise Refused("You cannot see that session.")
    # A fork copies the whole log: only a viewer who sees all of it (not a seated
    # player, whose role may not hear every whisper) may make one.
    if not visibility.view_for(session, user, permissions.capacity(session, user)).everything:
        raise Refused("Only the owner, observers and annotators can fork a session: a fork copies every event.")
    origin = Session.objects.get(pk=session.pk)
    if isinstance(at_seq, bool) or not isinstance(at_seq, int) or not 1 <= at_seq <= origin.last_seq:
        raise Refused(f"Fork from an event between 1 and {origin.last_seq}.")
    if model_profile is not None and not isinstance(model_profile, ModelProfile):
        raise Refused("Choose a model profile.")
    if model_profile is not None and not ModelProfile.objects.usable_by(user).filter(pk=model_profile.pk).exists():
        raise Refused("That model profile is not yours to use.")
    names = origin.role_names()
    if seat_role and seat_role not in names:
        raise Refused(f"No role named {seat_role!r} in this session.")
    inject = _check_text(inject) if inject and inject.strip() else ""
    last_seq, snapshot = fork_point(origin, at_seq)
    if snapshot is None and origin.next_turn > 0 and not TurnSnapshot.objects.filter(session=origin).exists():
        raise Refused("This session ran before forks were recorded: it has no engine state to fork from.")

    snapshot_roles = [dict(r) for r in origin.team_snapshot.get("roles", [])]
    if model_profile is not None:
        for role in snapshot_roles:
            role["model_profile"] = model_profile.snapshot()
            role["temperature"] = model_profile.temperature
    params = origin.protocol_params
    if protocol_params:
        merged = {**params, **protocol_params}
        if origin.protocol == "scenario" and isinstance(protocol_params.get("params"), dict):
            merged["params"] = {**params.get("params", {}), **protocol_params["params"]}
        try:
            params = PROTOCOLS.get(origin.protocol).validate_params(merged, names)
        except ValueError as exc:
            raise Refused(f"The fork was not made: {exc}.") from None
    state = dict(snapshot["state"]) if snapshot else {
        "protocol": PROTOCOLS.get(origin.protocol).init_state(params, names, origin.seed), "plan": plan_mod.empty()}
    if protocol_params and origin.protocol == "scenario" and isinstance(protocol_params.get("params"), dict):
        # The scenario reads its parameters from its state: the change applies from the fork on.
        state["protocol"] = {**state["protocol"], "params": params["params"]}
    fork = Session.objects.create(
        owner=user, team=origin.team, title=title or f"Fork of #{origin.pk} at event {last_seq}", brief=origin.brief,
        team_snapshot={**origin.team_snapshot, "roles": snapshot_roles}, protocol=origin.protocol,
        protocol_params=params, topology=origin.topology, topology_params=origin.topology_params,
        scenario=origin.scenario, scenario_params=params.get("params", {}) if origin.protocol == "scenario" else {},
        provider="openai" if model_profile is not None and model_profile.provider == "openai" else origin.provider,
        max_turns=origin.max_turns, token_budget=origin.token_budget, cost_budget=origin.cost_budget,
        seed=origin.seed, visibility=Session.Visibility.PRIVATE, state=state,
        next_turn=snapshot["turn_index"] + 1 if snapshot else 0,
        tokens_used=snapshot["tokens_used"] if snapshot else 0,
        cost_used=snapshot["cost_used"] if snapshot else 0,
        forked_from=origin, forked_at_seq=last_seq,
    )
    Membership.objects.create(session=fork, user=user, capacity=Membership.Capacity.OWNER)
    Seat.objects.bulk_create(Seat(session=fork, role_name=name) for name in names)
    copied = Event.objects.filter(session=origin, seq__lte=last_seq).order_by("seq")
    Event.objects.bulk_create(Event(session=fork, seq=e.seq, kind=e.kind, actor=e.actor, audience=e.audience,
                                    payload=e.payload, turn_index=e.turn_index) for e in copied)
    fork.last_seq = last_seq
    fork.save(update_fields=["last_seq"])
    changes = {}
    if model_profile is not None:
        changes["model_profile"] = model_profile.name
    if protocol_params:
        changes["protocol_params"] = protocol_params
    if seat_role:
        changes["seat"] = seat_role
    if inject:
        changes["inject"] = inject
    described = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in changes.items()) or "no change"
    log.append(fork, kind="notice", actor="system", turn_index=fork.next_turn, payload={
        "text": f"Forked from session #{origin.pk} after event {last_seq} ({described}).",
        "fork": {"origin": origin.pk, "at_seq": last_seq, "changes": changes}})
    if seat_role:
        Seat.objects.filter(session=fork, role_name=seat_role).update(
            holder=Seat.Holder.HUMAN, user=user, taken_at=timezone.now())
        _intervene(fork, user, "seat_taken", role=seat_role)
    if inject:
        log.append(fork, kind="message", actor=author(user), turn_index=fork.next_turn,
                   payload={"text": inject, "intervention": "inject", "facilitator": True})
    return fork
