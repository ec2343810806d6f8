from django.db import transaction

from collab.teams.models import ModelProfile, Role, Team
from collab.teams.presets import PRESETS


@transaction.atomic
def team_create_from_preset(*, preset_key: str, owner, name: str | None = None) -> Team:
    preset = PRESETS[preset_key]
    base = name or preset.title
    candidate, n = base, 2
    while Team.objects.filter(owner=owner, name=candidate).exists():
        candidate, n = f"{base} ({n})", n + 1
    team = Team.objects.create(name=candidate, description=preset.description, owner=owner, preset=preset.key)
    Role.objects.bulk_create(
        Role(team=team, order=i, **{k: v for k, v in spec.items()}) for i, spec in enumerate(preset.roles)
    )
    return team


# What a change of these means for a running session, in the log's words.
WATCHED = {"base_url": "base URL", "model": "model", "api_key_env": "key variable", "provider": "provider",
           "max_tokens": "max tokens", "context_window": "context window", "max_concurrency": "concurrency",
           "structured": "structured output", "timeout_seconds": "timeout"}


def profiles_reread(*, snapshot: dict) -> tuple[dict, list[str]]:
    """The team snapshot with each role's model profile as it is now (by id),
    and one line per profile that changed. A deleted profile stays as it was."""
    ids = {r["model_profile"]["id"] for r in snapshot.get("roles", []) if (r.get("model_profile") or {}).get("id")}
    current = {p.pk: p.snapshot() for p in ModelProfile.objects.filter(pk__in=ids)}
    changes: dict[int, str] = {}
    roles = []
    for role in snapshot.get("roles", []):
        old = role.get("model_profile") or {}
        new = current.get(old.get("id"))
        if new is None or new == old:
            roles.append(role)
            continue
        diffs = [f"{label} {old.get(k) or '(default)'} → {new.get(k) or '(default)'}"
                 for k, label in WATCHED.items() if old.get(k) != new.get(k)]
        if diffs:
            changes[new["id"]] = f"“{new['name']}”: " + "; ".join(diffs)
        roles.append({**role, "model_profile": new})
    return {**snapshot, "roles": roles}, list(changes.values())


def profile_targets(*, snapshot: dict) -> list[tuple[str, object]]:
    """(label, server check target) for each distinct model server a session's
    profiles reach, as they are now; the key as the engine would send it."""
    from django.conf import settings

    from collab.llm.base import ChatRequest
    from collab.llm.openai_provider import PLACEHOLDER_KEY, api_key_for
    from collab.llm.server import ModelConfigError, Target, default_model

    refreshed, _ = profiles_reread(snapshot=snapshot)
    seen, targets = set(), []
    for role in refreshed.get("roles", []):
        profile = role.get("model_profile") or {}
        if profile.get("provider") == "scripted":
            continue
        base_url = profile.get("base_url") or settings.OPENAI_BASE_URL
        try:
            model = profile.get("model") or default_model()
        except ModelConfigError:
            model = ""  # the check then says to name one
        key = api_key_for(ChatRequest(messages=[], base_url=base_url,
                                      api_key_env=profile.get("api_key_env") or "OPENAI_API_KEY"))
        if (base_url, model) in seen:
            continue
        seen.add((base_url, model))
        label = f"“{profile['name']}”" if profile.get("name") else "the configured server"
        targets.append((label, Target(base_url, model, "" if key == PLACEHOLDER_KEY else key)))
    return targets


def connection_report(*, snapshot: dict) -> list[tuple[bool, str]]:
    """(ok, one line) per model server of a session: the session page's "test connection"."""
    from collab.llm.server import check

    report = []
    for label, target in profile_targets(snapshot=snapshot):
        problems = check(target)
        where = f"{label} ({target.model or 'no model'} at {target.shown_url})"
        report.append((not problems, f"{where}: " + ("; ".join(problems) if problems else "connected, a test reply came back")))
    return report
