"""Run a scenario preset under several parameter variants and seeds as one
experiment (inline), and print the same columns as the experiment page's
aggregate CSV: per variant and metric n, mean, sd and the 95% interval."""

import json

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from collab.experiments import results, services
from collab.experiments.report import aggregate_table
from collab.experiments.spec import SpecError
from collab.teams.presets import PRESETS


class Command(BaseCommand):
    help = "Compare variants of a scenario preset: `--vary mode=solo,pair --seeds 5` (runs inline)."

    def add_arguments(self, parser):
        parser.add_argument("--preset", required=True)
        parser.add_argument("--vary", required=True, help="PARAM=v1,v2,... (a scenario parameter)")
        parser.add_argument("--seeds", type=int, default=3, help="runs per variant, seeds 0..N-1")
        parser.add_argument("--provider", choices=["scripted", "openai"], default="scripted")
        parser.add_argument("--user", default="demo")
        parser.add_argument("--include-incomplete", action="store_true")
        parser.add_argument("--json", action="store_true", help="variant -> metric -> mean, as JSON")

    def handle(self, *args, **opts):
        preset = PRESETS.get(opts["preset"])
        if preset is None or preset.protocol != "scenario":
            names = ", ".join(k for k, p in sorted(PRESETS.items()) if p.protocol == "scenario")
            raise CommandError(f"{opts['preset']!r} is not a scenario preset; choose one of: {names}")
        name, _, values = opts["vary"].partition("=")
        if not name or not values:
            raise CommandError("--vary takes PARAM=v1,v2 (e.g. mode=solo,pair)")
        raw_values = values.split(",")
        owner, _ = User.objects.get_or_create(username=opts["user"])
        definition = {"title": f"{preset.title}: {name} in {values}",
                      "base": {"preset": preset.key, "provider": opts["provider"]},
                      "grid": {f"params.{name}": [_parse(v) for v in raw_values]}, "seeds": opts["seeds"]}
        try:
            experiment = services.experiment_create(owner=owner, data=definition)
        except SpecError as exc:
            raise CommandError("; ".join(exc.problems)) from None
        experiment = services.experiment_run_inline(experiment=experiment, user=owner)
        rows = results.aggregates(experiment, include_incomplete=opts["include_incomplete"])
        if opts["json"]:
            table = {raw: {} for raw in raw_values}
            for row in rows:
                table[raw_values[row["condition"] - 1]][row["metric"]] = row["mean"]
            self.stdout.write(json.dumps(table, indent=2))
            return
        self.stdout.write(f"{preset.title}: experiment {experiment.pk}, {opts['seeds']} seeds per {name}")
        for line in aggregate_table(rows):
            self.stdout.write(line)


def _parse(raw: str):
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
