"""Run a scenario preset under several parameter variants and seeds, and
print each variant's mean metrics side by side (e.g. maze solo vs pair)."""

import json
import statistics

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from collab.engine import runner
from collab.sessions import selectors, services
from collab.teams.models import Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset


class Command(BaseCommand):
    help = "Compare variants of a scenario preset: `--vary mode=solo,pair --seeds 5` (runs inline)."

    def add_arguments(self, parser):
        parser.add_argument("--preset", required=True)
        parser.add_argument("--vary", required=True, help="PARAM=v1,v2,... (a scenario parameter)")
        parser.add_argument("--seeds", type=int, default=3, help="runs per variant, seeds 0..N-1")
        parser.add_argument("--provider", choices=["scripted", "openai"], default="scripted")
        parser.add_argument("--user", default="demo")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        preset = PRESETS.get(opts["preset"])
        if preset is None or preset.protocol != "scenario":
            names = ", ".join(k for k, p in sorted(PRESETS.items()) if p.protocol == "scenario")
            raise CommandError(f"{opts['preset']!r} is not a scenario preset; choose one of: {names}")
        name, _, values = opts["vary"].partition("=")
        if not name or not values:
            raise CommandError("--vary takes PARAM=v1,v2 (e.g. mode=solo,pair)")
        owner, _ = User.objects.get_or_create(username=opts["user"])
        team = Team.objects.filter(owner=owner, preset=preset.key).first() or team_create_from_preset(
            preset_key=preset.key, owner=owner)
        table = {}
        for raw in values.split(","):
            value = _parse(raw)
            runs = []
            for seed in range(opts["seeds"]):
                params = {**preset.protocol_params, "params": {**preset.protocol_params.get("params", {}), name: value}}
                try:
                    session = services.session_create(
                        owner=owner, team=team, protocol="scenario", protocol_params=params, seed=seed,
                        provider=opts["provider"], max_turns=preset.max_turns, title=f"{preset.title}: {name}={raw}")
                except ValueError as exc:
                    raise CommandError(str(exc)) from None
                with runner.inline():
                    services.session_start(session=session, user=owner)
                    session = runner.run_inline(session.pk)
                final = session.events.filter(kind="scenario_state").order_by("-seq").first()
                # The share of runs that completed by the scenario's rules: the others' metrics are provisional.
                runs.append((final.payload["metrics"] if final else {}) | {
                    "session": session.pk, "completed_by_rules": int(selectors.completed_by_rules(session))})
            table[raw] = _summarise(runs)
        if opts["json"]:
            self.stdout.write(json.dumps(table, indent=2))
            return
        metrics = sorted({m for row in table.values() for m in row})
        self.stdout.write(f"{preset.title}: mean over {opts['seeds']} seeds, by {name}")
        self.stdout.write("metric".ljust(24) + "".join(v.rjust(14) for v in table))
        for metric in metrics:
            self.stdout.write(metric.ljust(24) + "".join(_cell(table[v].get(metric)).rjust(14) for v in table))


def _parse(raw: str):
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _summarise(runs: list[dict]) -> dict:
    numbers = {}
    for run in runs:
        for key, value in run.items():
            if key != "session" and isinstance(value, int | float):
                numbers.setdefault(key, []).append(float(value))
    return {key: round(statistics.fmean(values), 3) for key, values in numbers.items()}


def _cell(value) -> str:
    return "-" if value is None else f"{value:g}"
