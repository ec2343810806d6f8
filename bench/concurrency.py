"""Throughput of one worker process, and the wall time of a simultaneous round.

(a) 100 concurrent round_robin sessions (max_turns 5 each, provider openai)
    against a fake model that answers after 1.0 s, on ONE Celery worker
    process (--pool threads --concurrency 110, COLLAB_DB_POOL_SIZE 40).
    Ceiling: a bare loop of 100 concurrent `openai.AsyncOpenAI` streaming
    calls (asyncio.gather) against the same server, for the same 5 rounds.
    Rates:
      steady  = 100 / median time between a session's consecutive turn
                commits (engine) vs 100 / median round time (bare, rounds 2-5)
      overall = 500 / (first start -> last commit) vs 500 / bare wall time
    The worker runs through bench/_worker.py, which times each turn's phases
    (claim, prepare, call_agents, commit) so the table shows where time goes.

(b) One `simultaneous` round of 8 roles at 1.0 s per call: claim -> commit
    wall time on the worker (5 sessions, one at a time) and inline (5 more).

    .venv/bin/python bench/concurrency.py [--sessions 100] [--pool 40] [--no-experiment] [--profile]

A diagnostic run follows the engine's (skip it with --no-experiment): the
same load on 2 worker processes of 55 threads each, for scale; it is not the
one-process figure. --profile adds a run with cProfile on the worker's shared
event loop thread; BENCH_YAPPI=path profiles every thread of the workers (see
bench/_worker.py).
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

LATENCY = 1.0
REPLY = "Agreed. I will take the next step, check the result and report back to the team."
TURNS_PER_SESSION = 5
RATIO_TARGET = 0.8
ROUND_TARGET_S = 1.3


# --- the ceiling ---------------------------------------------------------------

def bare_rounds(base_url: str, concurrency: int, rounds: int) -> dict:
    import openai

    messages = [{"role": "system", "content": "You are agent 1. " * 16},
                {"role": "user", "content": "agent0: " + REPLY}, {"role": "user", "content": "Your turn."}]

    async def one(client):
        stream = await client.chat.completions.create(
            model="fake-model", messages=messages, temperature=0.7, max_tokens=256, stream=True,
            stream_options={"include_usage": True}, timeout=30)
        parts = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        assert "".join(parts) == REPLY

    async def run():
        client = openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
        times = []
        started = time.perf_counter()
        for _ in range(rounds):
            t = time.perf_counter()
            await asyncio.gather(*(one(client) for _ in range(concurrency)))
            times.append(time.perf_counter() - t)
        wall = time.perf_counter() - started
        await client.close()
        return times, wall

    import psutil

    me = psutil.Process()
    cpu0 = sum(me.cpu_times()[:2])
    times, wall = asyncio.run(run())
    cpu_ms_per_call = (sum(me.cpu_times()[:2]) - cpu0) * 1000 / (concurrency * rounds)
    steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
    return {"round_s": times, "wall": wall, "steady_rate": concurrency / steady,
            "overall_rate": concurrency * rounds / wall, "cpu_ms_per_call": cpu_ms_per_call,
            "cpu_percent": cpu_ms_per_call * concurrency * rounds / wall / 10}


# --- (a) the engine on one worker --------------------------------------------------

def thread_cpu(pid: int) -> dict[int, float]:
    import psutil

    return {t.id: t.user_time + t.system_time for t in psutil.Process(pid).threads()}


def engine_run(label: str, base_url: str, owner, n_sessions: int, pool: int,
               profile: Path | None = None, workers: int = 1) -> dict:
    from collab.sessions import services
    from collab.sessions.models import Event, LLMCall, Session

    stamp = time.time_ns()
    env = {"COLLAB_DB_POOL_SIZE": str(pool)}
    if profile is not None:
        env["BENCH_PROFILE_AIO"] = str(profile)
    threads = -(-(n_sessions + 10) // workers)
    files = [common.OUT / f"concurrency-{stamp}-{i}.jsonl" for i in range(workers)]
    procs = []
    try:
        for path in files:
            procs.append(common.start_worker(concurrency=threads, timings=path, **env))
        team = common.make_team(owner, 3, common.fake_profile(base_url))
        sessions = [services.session_create(owner=owner, team=team, protocol="round_robin",
                                            protocol_params={"rounds": 2}, provider="openai",
                                            max_turns=TURNS_PER_SESSION, brief=f"Concurrency bench {i}.")
                    for i in range(n_sessions)]
        ids = [s.pk for s in sessions]
        meters = [common.CpuMeter(w.pid) for w in procs]
        threads_before = [thread_cpu(w.pid) for w in procs]
        machine = common.MachineMeter()
        t_start = time.time()
        for s in sessions:
            services.session_start(session=s, user=owner)
        t_started = time.time()
        deadline = time.monotonic() + 120
        while Session.objects.filter(pk__in=ids, status="running").exists():
            if time.monotonic() > deadline or not all(w.alive() for w in procs):
                raise RuntimeError(f"{label}: sessions still running after 120 s:\n{procs[0].output()[-3000:]}")
            time.sleep(0.2)
        worker_cpu = sum(m.percent() for m in meters)
        usage = machine.usage()
        elapsed = time.time() - t_start
        aio_percent = rest_percent = 0.0
        for w, path, before in zip(procs, files, threads_before, strict=False):
            used = {tid: t - before.get(tid, 0.0) for tid, t in thread_cpu(w.pid).items()}
            aio_tid = int(Path(f"{path}.aio").read_text())
            aio_percent += 100 * used.get(aio_tid, 0.0) / elapsed
            rest_percent += 100 * (sum(used.values()) - used.get(aio_tid, 0.0)) / elapsed
    finally:
        for w in procs:
            w.stop()
    statuses = {}
    for status in Session.objects.filter(pk__in=ids).values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    commits: dict[int, list[float]] = {}
    for sid, created in Event.objects.filter(session_id__in=ids, kind="message").values_list("session_id", "created_at"):
        commits.setdefault(sid, []).append(created.timestamp())
    all_commits = sorted(t for ts in commits.values() for t in ts)
    turns = len(all_commits)
    cycles = []
    for ts in commits.values():
        ts.sort()
        cycles += [b - a for a, b in zip(ts, ts[1:], strict=False)]
    latencies = list(LLMCall.objects.filter(session_id__in=ids).values_list("latency_ms", flat=True))
    errors = LLMCall.objects.filter(session_id__in=ids).exclude(error="").count()
    entries = [e for path in files for e in common.read_timings(path) if e["session"] in set(ids)]
    done = sorted((e for e in entries if "commit" in e), key=lambda e: (e["session"], e["turn"]))
    # Queue delay: from the end of a session's previous turn (its commit enqueued this one) to this claim.
    queue = []
    previous = {}
    for e in done:
        end = previous.get(e["session"])
        queue.append((e["t0"] - (end if end is not None else t_start)) * 1000)
        previous[e["session"]] = e["t1"]
    # Most model calls in flight at once: intervals from the end of prepare to the end of call_agents.
    edges = sorted([(e["prepare_end"], 1) for e in done] + [(e["call_agents_end"], -1) for e in done])
    in_flight = peak = 0
    for _, step in edges:
        in_flight += step
        peak = max(peak, in_flight)
    span = (all_commits[-1] - t_start) if all_commits else float("nan")
    per_second = [0] * (int(span) + 1) if all_commits else []
    for t in all_commits:
        per_second[int(t - t_start)] += 1
    return {
        "label": label, "pool": pool, "sessions": n_sessions, "turns": turns, "statuses": statuses,
        "errors": errors, "start_s": t_started - t_start, "span": span,
        "overall_rate": turns / span if all_commits else 0.0,
        "cycle_median": statistics.median(cycles) if cycles else float("nan"),
        "cycle_p99": common.percentile(cycles, 99),
        "steady_rate": n_sessions / statistics.median(cycles) if cycles else 0.0,
        "llm_latency_median": common.median(latencies), "llm_latency_p99": common.percentile(latencies, 99),
        "phases": common.phase_rows(done), "queue_median": common.median(queue),
        "queue_p99": common.percentile(queue, 99), "peak_in_flight": peak, "worker_cpu": worker_cpu,
        "per_second": per_second, "aio_percent": aio_percent, "rest_percent": rest_percent,
        "workers": workers, "threads": threads, "usage": usage,
        "worker_cpu_ms_per_turn": worker_cpu * elapsed * 10 / max(1, turns),
    }


# --- (b) one simultaneous round of 8 roles ------------------------------------------

def simultaneous_round(base_url: str, owner, repeats: int) -> dict:
    from django.db import connection

    from collab.engine import runner
    from collab.sessions import services
    from collab.sessions.models import LLMCall, Session

    team = common.make_team(owner, 8, common.fake_profile(base_url))

    def new_session():
        return services.session_create(owner=owner, team=team, protocol="simultaneous",
                                       protocol_params={"rounds": 1}, provider="openai", max_turns=1,
                                       brief="Everyone moves at once.")

    # On the worker: claim -> commit from its turn timings.
    timings = common.OUT / f"simultaneous-{time.time_ns()}.jsonl"
    worker = common.start_worker(concurrency=16, timings=timings)
    ids = []
    try:
        for _ in range(repeats + 1):  # the first round after the worker starts is reported apart (cold)
            session = new_session()
            services.session_start(session=session, user=owner)
            ids.append(session.pk)
            deadline = time.monotonic() + 30
            while Session.objects.filter(pk=session.pk, status="running").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"simultaneous session still running:\n{worker.output()[-3000:]}")
                time.sleep(0.05)
    finally:
        worker.stop()
    on_worker = sorted((e for e in common.read_timings(timings) if e["session"] in set(ids) and "commit" in e),
                       key=lambda e: e["t0"])
    cold, on_worker = on_worker[:1], on_worker[1:]
    worker_s = [e["total"] for e in on_worker]
    worker_calls = [e["call_agents"] for e in on_worker]

    # Inline, in this process: time run_turn of the round.
    inline_s, inline_calls = [], []
    entries: list[dict] = []
    common.instrument_runner(entries.append)
    for _ in range(repeats + 1):  # the first inline round (client set-up, imports) is dropped
        session = new_session()
        with runner.inline():
            services.session_start(session=session, user=owner)
            connection.close()
            runner.run_turn(session.pk, 0)
        ids.append(session.pk)
    for e in [e for e in entries if "commit" in e][1:]:
        inline_s.append(e["total"])
        inline_calls.append(e["call_agents"])
    calls = list(LLMCall.objects.filter(session_id__in=ids).values_list("latency_ms", flat=True))
    messages = LLMCall.objects.filter(session_id__in=ids, error="").count()
    return {"cold": cold[0]["total"] if cold else float("nan"), "worker": worker_s, "worker_calls": worker_calls, "inline": inline_s, "inline_calls": inline_calls,
            "llm_ms": calls, "ok_calls": messages, "expected_calls": 8 * len(ids)}


# --- the loop's profile --------------------------------------------------------------

GROUPS = [("/openai/", "openai SDK"), ("/pydantic", "pydantic (openai models)"), ("/httpx/", "httpx/httpcore/h11"),
          ("/httpcore/", "httpx/httpcore/h11"), ("/h11/", "httpx/httpcore/h11"), ("/anyio/", "anyio"),
          ("/channels_redis/", "channel layer (channels_redis, redis, msgpack)"),
          ("/redis/", "channel layer (channels_redis, redis, msgpack)"),
          ("/msgpack/", "channel layer (channels_redis, redis, msgpack)"), ("/collab/", "collab (engine code)"),
          ("/django/", "django"), ("/asyncio/", "asyncio"), ("/json/", "json"), ("/ssl.py", "ssl")]


def profile_tables(path: Path) -> tuple[list[list], list[list], float]:
    """tottime of the loop thread grouped by package, and the top functions; epoll waits are idle."""
    import pstats

    stats = pstats.Stats(str(path)).stats
    groups: dict[str, float] = {}
    funcs = []
    idle = 0.0
    for (filename, line, func), (_, calls, tottime, _, _) in stats.items():
        if "poll' of 'select.epoll" in func or func == "<built-in method time.sleep>":
            idle += tottime
            continue
        group = next((g for marker, g in GROUPS if marker in filename), None)
        if group is None:
            group = "C built-ins (json, str, socket, ...)" if filename == "~" else "other Python"
        groups[group] = groups.get(group, 0.0) + tottime
        short = filename.split("site-packages/")[-1].split("/lib/python3.11/")[-1]
        funcs.append((tottime, calls, f"{short}:{line}({func})" if filename != "~" else func))
    busy = sum(groups.values())
    group_rows = [[g, t, f"{100 * t / busy:.0f}%"] for g, t in sorted(groups.items(), key=lambda x: -x[1])]
    func_rows = [[name[-90:], t, n] for t, n, name in sorted(funcs, reverse=True)[:12]]
    return group_rows, func_rows, idle


# --- report -----------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--pool", type=int, default=40, help="COLLAB_DB_POOL_SIZE of the worker")
    parser.add_argument("--no-experiment", action="store_true",
                        help="skip the diagnostic run on 2 worker processes")
    parser.add_argument("--profile", action="store_true",
                        help="add a run with cProfile on the worker's shared event loop thread (slower; diagnostic)")
    parser.add_argument("--repeats", type=int, default=5, help="simultaneous rounds per mode in (b)")
    args = parser.parse_args()

    common.configure("postgres")
    common.wait_for_quiet()
    machine = common.MachineMeter()
    owner = common.make_user()
    fake, base_url = common.start_fake_server(latency=LATENCY, reply=REPLY)
    fake_cpu = common.CpuMeter(fake.pid)
    try:
        bare_rounds(base_url, 10, 1)  # warm up the server
        bare = bare_rounds(base_url, args.sessions, TURNS_PER_SESSION)
        runs = [engine_run("engine", base_url, owner, args.sessions, args.pool)]
        if not args.no_experiment:
            runs.append(engine_run("diagnostic: 2 worker processes", base_url, owner,
                                   args.sessions, args.pool // 2, workers=2))
        profiled = None
        if args.profile:
            profile_path = common.OUT / f"aio-profile-{time.time_ns()}.pstats"
            profiled = engine_run("engine under cProfile (diagnostic)", base_url, owner, args.sessions, args.pool,
                                  profile=profile_path)
            profiled["profile"] = profile_path
        simultaneous = simultaneous_round(base_url, owner, args.repeats)
        fake_percent = fake_cpu.percent()
    finally:
        fake.stop()

    rows = [[f"bare AsyncOpenAI gather x{args.sessions}", "-", bare["steady_rate"], bare["overall_rate"], "1.00",
             "1.00", "-"]]
    for r in runs:
        steady_ratio = r["steady_rate"] / bare["steady_rate"]
        rows.append([r["label"], r["pool"] * r["workers"], r["steady_rate"], r["overall_rate"], f"{steady_ratio:.2f}",
                     f"{r['overall_rate'] / bare['overall_rate']:.2f}",
                     "yes" if steady_ratio >= RATIO_TARGET else "NO"])
    common.print_table(
        f"(a) Turns per second: {args.sessions} concurrent round_robin sessions x {TURNS_PER_SESSION} turns, "
        f"model latency {LATENCY:g} s, one worker (threads)",
        ["run", "DB pool (total)", "steady turns/s", "overall turns/s", "steady ratio", "overall ratio",
         f"ratio >= {RATIO_TARGET:g}"], rows)
    common.note(f"bare rounds (s): {', '.join(f'{t:.3f}' for t in bare['round_s'])}; bare wall {bare['wall']:.2f} s; "
                f"the bare client used {bare['cpu_percent']:.0f}% of a core, {bare['cpu_ms_per_call']:.1f} ms CPU "
                f"per call (a latency-bound ceiling would be {args.sessions / LATENCY:.0f}/s)")
    for r in runs:
        common.note(f"{r['label']}: {r['turns']} turns committed (statuses {r['statuses']}, failed model calls "
                    f"{r['errors']}); starting the sessions took {r['start_s']:.2f} s; first start -> last commit "
                    f"{r['span']:.2f} s; commits per second: {', '.join(map(str, r['per_second']))}")
    rows = []
    for r in runs:
        prefix = "" if len(runs) == 1 else f"{r['label'].split(':')[0]}: "
        rows.append([f"{prefix}time between a session's commits", r["cycle_median"] * 1000, r["cycle_p99"] * 1000,
                     r["turns"] - r["sessions"]])
        rows.append([f"{prefix}queue delay (previous commit -> claim)", r["queue_median"], r["queue_p99"], r["turns"]])
        rows += [[f"{prefix}{row[0]}", *row[1:]] for row in r["phases"]]
        rows.append([f"{prefix}LLMCall.latency_ms (provider)", r["llm_latency_median"], r["llm_latency_p99"],
                     r["turns"]])
    common.print_table("(a) Where a turn's time goes on the worker", ["phase", "p50 ms", "p99 ms", "n"], rows)
    for r in runs:
        common.note(f"{r['label']}: {r['workers']} worker process(es) x {r['threads']} threads, DB pool {r['pool']} "
                    f"each; most model calls in flight at once: {r['peak_in_flight']} of {r['sessions']}; "
                    f"worker CPU {r['worker_cpu']:.0f}% of one core ({r['worker_cpu_ms_per_turn']:.0f} ms CPU per "
                    f"turn): shared event loop thread {r['aio_percent']:.0f}%, all other threads "
                    f"{r['rest_percent']:.0f}%; machine during the run, in cores: this bench's processes "
                    f"{r['usage']['ours']:.2f} (workers included), PostgreSQL+Redis {r['usage']['shared']:.2f}, "
                    f"other processes {r['usage']['other']:.2f} ({r['usage']['busiest_other']})")
    other, busiest = machine.other_cores()
    common.note(f"fake server CPU {fake_percent:.0f}% of one core over the whole script; other processes on the "
                f"machine used {other:.2f} cores over the whole script ({busiest})")

    if profiled is not None:
        group_rows, func_rows, idle = profile_tables(profiled["profile"])
        common.print_table(
            f"(a) Profile of the worker's shared event loop thread (cProfile tottime; this run: "
            f"{profiled['steady_rate']:.1f} turns/s steady, loop thread {profiled['aio_percent']:.0f}% of a core)",
            ["package", "CPU s", "share"], group_rows)
        common.print_table("(a) Busiest functions on the loop thread", ["function", "tottime s", "calls"], func_rows)
        common.note(f"idle in epoll on the loop thread: {idle:.1f} s; profile file {profiled['profile']}")

    s = simultaneous
    rows = []
    for name, totals, calls in (("on the worker", s["worker"], s["worker_calls"]),
                                ("inline (run_turn in this process)", s["inline"], s["inline_calls"])):
        if totals:
            rows.append([name, len(totals), statistics.median(totals), max(totals), statistics.median(calls),
                         "yes" if max(totals) < ROUND_TARGET_S else "NO"])
    common.print_table(f"(b) One simultaneous round, 8 roles, {LATENCY:g} s per call: claim -> commit",
                       ["where", "rounds", "p50 s", "max s", "call_agents p50 s", f"max < {ROUND_TARGET_S:g} s"],
                       [[r[0], r[1], f"{r[2]:.3f}", f"{r[3]:.3f}", f"{r[4]:.3f}", r[5]] for r in rows])
    common.note(f"first round after the worker started (cold, not counted above): {s['cold']:.3f} s; the first "
                f"inline round is dropped too")
    common.note(f"model calls (all rounds, cold ones too): {s['ok_calls']} ok of {s['expected_calls']}; LLMCall.latency_ms p50 "
                f"{common.median(s['llm_ms']):.0f}, max {max(s['llm_ms']):.0f}")


if __name__ == "__main__":
    main()
