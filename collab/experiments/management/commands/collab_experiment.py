"""`collab_experiment run FILE`: check a YAML/JSON experiment definition, run
it through the worker (or --inline in this process), print progress and the
per-condition results; `collab_experiment check FILE` only checks it."""

import json
import time
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from collab.experiments import results, services
from collab.experiments.models import Experiment
from collab.experiments.report import aggregate_table
from collab.experiments.spec import SpecError


class Command(BaseCommand):
    help = "Run an experiment defined in a YAML or JSON file: `collab_experiment run FILE`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run", "check"])
        parser.add_argument("file")
        parser.add_argument("--user", default="demo", help="owner of the experiment (created if missing)")
        parser.add_argument("--inline", action="store_true", help="run here, one session after another, no worker")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the worker")
        parser.add_argument("--include-incomplete", action="store_true",
                            help="count runs cut short by max turns or budget in the aggregates")
        parser.add_argument("--json", action="store_true", help="print the aggregates as JSON")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        owner, _ = User.objects.get_or_create(username=opts["user"])
        try:
            experiment = services.experiment_create(owner=owner, text=text)
        except SpecError as exc:
            raise CommandError(f"{path} is not a valid experiment:\n" + "\n".join(f"- {p}" for p in exc.problems)) from None
        if opts["action"] == "check":
            runs = experiment.runs.count()
            experiment.delete()
            count = len(experiment.spec["conditions"])
            self.stdout.write(f"{path}: valid; {count} condition{'s' if count != 1 else ''}, {runs} runs.")
            return
        self.stdout.write(f"Experiment {experiment.pk}: {experiment.title}, {experiment.runs.count()} runs")
        if opts["inline"]:
            experiment = services.experiment_run_inline(experiment=experiment, user=owner)
        else:
            services.experiment_start(experiment=experiment, user=owner)
            experiment = self._wait(experiment, opts["timeout"])
        rows = results.aggregates(experiment, include_incomplete=opts["include_incomplete"])
        if opts["json"]:
            self.stdout.write(json.dumps({"experiment": experiment.pk, "status": experiment.status,
                                          "progress": results.progress(experiment), "aggregates": rows}, indent=2))
            return
        p = results.progress(experiment)
        self.stdout.write(f"{experiment.get_status_display()}: {p['complete']} complete, {p['incomplete']} cut "
                          f"short, {p['failed']} failed of {p['total']}")
        for line in aggregate_table(rows):
            self.stdout.write(line)

    def _wait(self, experiment: Experiment, timeout: float) -> Experiment:
        deadline, shown = time.monotonic() + timeout, -1
        while time.monotonic() < deadline:
            experiment.refresh_from_db()
            p = results.progress(experiment)
            if p["done"] != shown:
                shown = p["done"]
                self.stdout.write(f"  {p['done']}/{p['total']} runs done ({p['percent']}%)")
            if experiment.status != Experiment.Status.RUNNING:
                return experiment
            time.sleep(0.5)
        raise CommandError(f"experiment {experiment.pk} still running after {timeout:g} s; is a worker running?")
