from django.db import transaction

from collab.teams.models import Role, Team
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
