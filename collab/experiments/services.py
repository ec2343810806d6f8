"""Writes on experiments: create from a definition, start, advance, cancel,
re-run failed cells. Sessions are created and started through
collab.sessions.services and read back through collab.sessions.selectors,
so a cell runs exactly like any other session, on the same Celery engine.

`experiment_tick` is the one place an experiment moves on: it reads each
running cell's session, records how it ended, and starts pending cells up
to the experiment's `parallel`. It runs under the experiment's row lock and
only does what is missing, so a repeated or concurrent tick is harmless.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from collab.experiments import spec as spec_mod
from collab.experiments.models import Experiment, Run
from collab.sessions import selectors as session_selectors
from collab.sessions import services as session_services
from collab.sessions.models import Session
from collab.sessions.permissions import Refused
from collab.teams.models import ModelProfile, Role, Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset

R = Run.Status
# A session ended by its own rules has ended_by set by its protocol or scenario; these mean it was cut short.
CUT_SHORT = {"max_turns", "budget", "error", "owner"}
# Sessions started per tick: keeps each tick's transaction (and its row lock) short.
LAUNCH_BATCH = 25


def completed_by_rules(ended_by: str) -> bool:
    """Whether a final state event's ended_by says the run ended by its own rules."""
    return bool(ended_by) and ended_by not in CUT_SHORT


# --- teams for conditions ----------------------------------------------------------

def _profile(owner, name: str) -> ModelProfile | None:
    """The profile called `name` among those `owner` may use (their own first,
    then published ones); another user's private profile is unknown here."""
    if not name:
        return None
    usable = ModelProfile.objects.usable_by(owner)
    found = usable.filter(name=name, owner=owner).first() or usable.filter(name=name).first()
    if found is None:
        known = ", ".join(sorted(set(usable.values_list("name", flat=True)))) or "none you may use"
        raise ValueError(f"unknown model profile {name!r}; yours and the shared ones: {known}")
    return found


def _named_team(owner, name: str) -> Team:
    team = Team.objects.filter(owner=owner, name=name).first()
    if team is None:
        known = ", ".join(Team.objects.filter(owner=owner).values_list("name", flat=True)) or "you have none"
        raise ValueError(f"unknown team {name!r}; your teams: {known}")
    return team


def role_names_for(owner, condition: dict) -> list[str]:
    """The role names a condition's team has (checks the team and profile exist)."""
    _profile(owner, condition.get("model_profile") or "")
    if condition.get("team"):
        return list(_named_team(owner, condition["team"]).roles.order_by("order", "id").values_list("name", flat=True))
    return [r["name"] for r in PRESETS[condition["preset"]].roles]


def _team_for(experiment: Experiment, condition: dict) -> Team:
    """The team a condition runs: a preset's roles as published (a fresh copy
    per experiment, so the owner's edits to a preset team never leak in) or
    the named team; with a model profile, a copy with every role on it."""
    owner = experiment.owner
    profile = _profile(owner, condition.get("model_profile") or "")
    if condition.get("team"):
        source = _named_team(owner, condition["team"])
        if profile is None:
            return source
        label = source.name
    else:
        source, label = None, PRESETS[condition["preset"]].title
    name = f"Experiment {experiment.pk}: {label}" + (f" · {profile.name}" if profile else "")
    team = Team.objects.filter(owner=owner, name=name).first()
    if team is not None:
        return team
    if source is None:
        team = team_create_from_preset(preset_key=condition["preset"], owner=owner, name=name)
    else:
        team = Team.objects.create(owner=owner, name=name, description=source.description, preset=source.preset)
        Role.objects.bulk_create(Role(
            team=team, order=r.order, name=r.name, persona=r.persona, goals=r.goals, expertise=r.expertise,
            traits=r.traits, color=r.color, avatar=r.avatar, model_profile=r.model_profile,
            temperature=r.temperature, strength=r.strength) for r in source.roles.all())
    if profile is not None:
        team.roles.update(model_profile=profile)
    return team


# --- create and start --------------------------------------------------------------

@transaction.atomic
def experiment_create(*, owner, text: str | None = None, data: dict | None = None) -> Experiment:
    """Check a definition (YAML/JSON text or a parsed dict) and store it with
    one pending run per condition x seed x repetition. Nothing is written
    when any part is wrong: SpecError lists every problem."""
    if data is None:
        data = spec_mod.parse(text or "")
    clean = spec_mod.clean_spec(data, team_roles=lambda c: role_names_for(owner, c))
    experiment = Experiment.objects.create(owner=owner, title=clean["title"], spec=clean, source=text or "")
    Run.objects.bulk_create(
        Run(experiment=experiment, condition_index=i, seed=seed, repetition=rep)
        for i in range(len(clean["conditions"])) for seed in clean["seeds"]
        for rep in range(1, clean["repetitions"] + 1))
    return experiment


def require_owner(experiment: Experiment, user) -> None:
    if experiment.owner_id != getattr(user, "pk", None):
        raise Refused("Only the experiment's owner can do that.")


def _locked(experiment: Experiment) -> Experiment:
    return Experiment.objects.select_for_update().get(pk=experiment.pk)


def git_commit() -> str:
    commit = os.environ.get("COLLAB_GIT_COMMIT", "").strip()
    if commit:
        return commit
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _manifest_conditions(experiment: Experiment) -> list[dict]:
    conditions = []
    for i, condition in enumerate(experiment.spec["conditions"]):
        settings_ = spec_mod.resolve(condition)
        team = _team_for(experiment, condition)
        roles = []
        for role in team.roles.select_related("model_profile").order_by("order", "id"):
            profile = role.model_profile
            scripted = settings_["provider"] == "scripted" or (profile and profile.provider == "scripted")
            roles.append({
                "role": role.name,
                "model": "scripted" if scripted else (profile.model if profile and profile.model else settings.OPENAI_MODEL),
                "model_profile": profile.name if profile else "",
                "temperature": role.temperature if role.temperature is not None else (
                    profile.temperature if profile else 0.7),
                "max_tokens": profile.max_tokens if profile else 512,
                "base_url": "" if scripted else ((profile.base_url if profile else "") or settings.OPENAI_BASE_URL),
            })
        conditions.append({"index": i, "label": condition["label"], "varied": condition["varied"],
                           "team": team.name, "settings": settings_, "roles": roles})
    return conditions


@transaction.atomic
def experiment_start(*, experiment: Experiment, user, schedule: bool = True) -> Experiment:
    exp = _locked(experiment)
    require_owner(exp, user)
    if exp.status != Experiment.Status.DRAFT:
        raise Refused(f"The experiment is {exp.get_status_display().lower()}, not a draft.")
    exp.manifest = {
        "schema": 1,
        "collab_version": importlib.metadata.version("collab"),
        "git_commit": git_commit(),
        "experiment": exp.pk,
        "title": exp.title,
        "seeds": exp.spec["seeds"],
        "repetitions": exp.spec["repetitions"],
        "conditions": _manifest_conditions(exp),
    }
    exp.status, exp.started_at = Experiment.Status.RUNNING, timezone.now()
    exp.save(update_fields=["manifest", "status", "started_at"])
    if schedule:
        _schedule_tick(exp.pk)
    return exp


def _schedule_tick(experiment_id: int) -> None:
    from collab.experiments.tasks import experiment_tick

    transaction.on_commit(lambda: experiment_tick.delay(experiment_id))


def _launch(exp: Experiment, run: Run) -> None:
    condition = exp.spec["conditions"][run.condition_index]
    s = spec_mod.resolve(condition)
    now = timezone.now()
    try:
        with transaction.atomic():
            session = session_services.session_create(
                owner=exp.owner, team=_team_for(exp, condition), brief=s["brief"],
                title=f"{exp.title} · {condition['label']} · seed {run.seed}"[:200],
                protocol=s["protocol"], protocol_params=s["protocol_params"], topology=s["topology"],
                topology_params=s["topology_params"], provider=s["provider"], max_turns=s["max_turns"],
                seed=run.seed)
            session_services.session_start(session=session, user=exp.owner)
    except (ValueError, Refused) as exc:
        run.status, run.reason, run.started_at, run.finished_at = R.FAILED, str(exc)[:300], now, now
        run.save(update_fields=["status", "reason", "started_at", "finished_at"])
        return
    run.session, run.status, run.started_at = session, R.RUNNING, now
    run.save(update_fields=["session", "status", "started_at"])


def _record(run: Run) -> bool:
    """Copy a finished session's outcome onto its run; False while it still runs."""
    out = session_selectors.outcome(run.session_id)
    paused = session_selectors.paused_by_engine(run.session_id) if out["status"] == Session.Status.PAUSED else ""
    if paused:
        # Paused for a model failure: the experiment does not wait for a human to resume it.
        run.status, run.reason = R.FAILED, f"paused: {paused}"[:300]
    elif out["status"] not in {Session.Status.FINISHED, Session.Status.FAILED}:
        return False
    elif out["status"] == Session.Status.FAILED:
        run.status, run.reason = R.FAILED, out["reason"][:300]
    else:
        run.status = R.COMPLETE if completed_by_rules(out["ended_by"]) else R.INCOMPLETE
        run.reason = out["reason"][:300]
    run.ended_by, run.metrics = out["ended_by"], out["metrics"]
    run.tokens, run.cost, run.wall_seconds = out["tokens"], out["cost"], out["wall_seconds"]
    run.finished_at = out["finished_at"] or timezone.now()
    run.save(update_fields=["status", "reason", "ended_by", "metrics", "tokens", "cost", "wall_seconds",
                            "finished_at"])
    return True


@transaction.atomic
def experiment_tick(*, experiment_id: int) -> bool:
    """Record finished cells and start pending ones; True while more is to come."""
    exp = Experiment.objects.select_for_update().filter(pk=experiment_id).first()
    if exp is None or exp.status != Experiment.Status.RUNNING:
        return False
    running = list(exp.runs.filter(status=R.RUNNING))
    # One query finds the sessions that stopped; only those are read in full.
    stopped = session_selectors.settled([run.session_id for run in running])
    still = sum(1 for run in running if run.session_id not in stopped or not _record(run))
    free = min(exp.spec["parallel"] - still, LAUNCH_BATCH)
    if free > 0:
        for run in exp.runs.filter(status=R.PENDING).order_by("seed", "repetition", "condition_index")[:free]:
            _launch(exp, run)
            still += run.status == R.RUNNING
    if still or exp.runs.filter(status=R.PENDING).exists():
        return True
    exp.status, exp.finished_at = Experiment.Status.FINISHED, timezone.now()
    exp.save(update_fields=["status", "finished_at"])
    return False


@transaction.atomic
def experiment_cancel(*, experiment: Experiment, user) -> Experiment:
    exp = _locked(experiment)
    require_owner(exp, user)
    if exp.status not in {Experiment.Status.RUNNING, Experiment.Status.DRAFT}:
        raise Refused(f"The experiment is already {exp.get_status_display().lower()}.")
    now = timezone.now()
    for run in exp.runs.filter(status=R.RUNNING).select_related("session"):
        if run.session is not None and not run.session.is_over:
            session_services.session_stop(session=run.session, user=exp.owner)
    exp.runs.filter(status__in=[R.PENDING, R.RUNNING]).update(status=R.CANCELLED, reason="cancelled by the owner",
                                                              finished_at=now)
    exp.status, exp.finished_at = Experiment.Status.CANCELLED, now
    exp.save(update_fields=["status", "finished_at"])
    return exp


@transaction.atomic
def experiment_rerun_failed(*, experiment: Experiment, user) -> int:
    """Put failed (and cancelled) cells back in the queue as new attempts; the
    earlier sessions stay for the record. Returns how many cells were queued."""
    exp = _locked(experiment)
    require_owner(exp, user)
    if exp.status == Experiment.Status.DRAFT:
        raise Refused("Start the experiment first.")
    again = list(exp.runs.filter(status__in=[R.FAILED, R.CANCELLED]))
    if not again:
        raise Refused("No failed cells to re-run.")
    for run in again:
        run.attempt += 1
        run.status, run.reason, run.ended_by, run.session = R.PENDING, "", "", None
        run.metrics, run.tokens, run.cost, run.wall_seconds = {}, 0, Decimal(0), None
        run.started_at = run.finished_at = None
    Run.objects.bulk_update(again, ["attempt", "status", "reason", "ended_by", "session", "metrics", "tokens",
                                    "cost", "wall_seconds", "started_at", "finished_at"])
    ticking = exp.status == Experiment.Status.RUNNING  # its tick chain is alive and will pick these up
    exp.status, exp.finished_at = Experiment.Status.RUNNING, None
    exp.save(update_fields=["status", "finished_at"])
    if not ticking:
        _schedule_tick(exp.pk)
    return len(again)


def experiment_run_inline(*, experiment: Experiment, user) -> Experiment:
    """Run every pending cell in this process, one after another, without
    Celery (collab_compare, collab_experiment run --inline)."""
    from collab.engine import runner

    with runner.inline():
        experiment_start(experiment=experiment, user=user, schedule=False)
        while experiment_tick(experiment_id=experiment.pk):
            for run in Run.objects.filter(experiment=experiment, status=R.RUNNING):
                runner.run_inline(run.session_id)
    experiment.refresh_from_db()
    return experiment
