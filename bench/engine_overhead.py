"""Engine overhead per turn, with a zero-latency fake model.

One round_robin session of --turns turns (provider openai against the fake
server: latency 0, chunk_delay 0, a short fixed reply) runs INLINE through
the runner (`with runner.inline():`, then runner.run_turn for each turn in
this thread, as run_inline does). Every run_turn call is timed, and so is
each phase (claim, prepare, call_agents, commit) by wrappers set from here.

The ceiling is a bare `openai.AsyncOpenAI` streaming call (stream=True,
include_usage) against the same server and reply, run on the same shared
loop (collab.aio) from this thread, timed the same way: once with a tiny
prompt and once cycling through the very prompts the engine sent.

overhead = median turn - median bare call with the same prompts.

    .venv/bin/python bench/engine_overhead.py [--db all|postgres|sqlite] [--turns 200]
"""

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

REPLY = "Agreed, I will take the next step and report back."
TARGET_MS = 15.0


def measure(db: str, turns: int, calls: int) -> dict:
    common.configure(db)
    from django.db import connection

    from collab import aio
    from collab.engine import runner
    from collab.sessions import services
    from collab.sessions.models import LLMCall, Session

    fake, base_url = common.start_fake_server(latency=0.0, chunk_delay=0.0, reply=REPLY)
    try:
        import openai

        holder = {}

        async def bare(messages):
            client = holder.get("client")
            if client is None:
                client = holder["client"] = openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
            stream = await client.chat.completions.create(
                model="fake-model", messages=messages, temperature=0.7, max_tokens=256, stream=True,
                stream_options={"include_usage": True}, timeout=30)
            parts, usage = [], None
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
            assert "".join(parts) == REPLY and usage is not None
            return usage

        def time_bare(variants: dict[str, list[list[dict]]], n: int) -> dict[str, list[float]]:
            """n calls per variant, the variants alternating so they see the same machine."""
            out = {name: [] for name in variants}
            for i in range(n):
                for name, prompts in variants.items():
                    started = time.perf_counter()
                    aio.run(bare(prompts[i % len(prompts)]), timeout=30)
                    out[name].append((time.perf_counter() - started) * 1000)
            return out

        tiny = [[{"role": "user", "content": "Say something short."}]]
        time_bare({"tiny": tiny}, 20)  # warm up: client, connection, code paths

        entries: list[dict] = []
        common.instrument_runner(entries.append)
        common.count_queries()
        captured = {}
        timed_prepare = runner.prepare

        def prepare(*args, **kwargs):  # keep the prompt the engine sends, for the paired bare call
            prepared = timed_prepare(*args, **kwargs)
            if prepared is not None and prepared.calls:
                captured["messages"] = prepared.calls[0].request.messages
            return prepared

        runner.prepare = prepare
        owner = common.make_user()
        team = common.make_team(owner, 3, common.fake_profile(base_url))

        def new_session():
            session = services.session_create(
                owner=owner, team=team, protocol="round_robin", protocol_params={"rounds": math.ceil(turns / 3)},
                provider="openai", max_turns=turns, brief="Benchmark the engine's overhead per turn.")
            services.session_start(session=session, user=owner)
            connection.close()
            return session

        def check(session, done):
            session = Session.objects.get(pk=session.pk)
            if len(done) != turns or session.status != "finished":
                raise RuntimeError(f"expected {turns} committed turns and a finished session; got {len(done)} and "
                                   f"{session.status} ({session.end_reason})")

        machine = common.MachineMeter()
        with runner.inline():
            # 1. Back to back, as run_inline does: each turn's after-commit broadcasts overlap the next turn.
            session = new_session()
            started = time.perf_counter()
            for turn_index in range(turns):
                runner.run_turn(session.pk, turn_index)
            wall = time.perf_counter() - started
            back_to_back = [e for e in entries if "commit" in e]
            check(session, back_to_back)
            entries.clear()

            # 2. Paired: each turn, then a bare call with the prompt that turn sent and one with a tiny
            #    prompt, on a quiet loop (5 ms pause first), so a busy machine hits both sides alike.
            session = new_session()
            bare_same, bare_tiny = [], []
            for turn_index in range(turns):
                runner.run_turn(session.pk, turn_index)
                aio.run(asyncio.sleep(0.005))
                times = time_bare({"same": [captured["messages"]], "tiny": tiny}, 1)
                bare_same += times["same"]
                bare_tiny += times["tiny"]
            done = [e for e in entries if "commit" in e]
            check(session, done)
        machine_text = machine.describe()
        calls_rows = list(LLMCall.objects.filter(session=session).order_by("turn_index")
                          .values_list("latency_ms", "messages", "error"))
        errors = [e for _, _, e in calls_rows if e]
        prompt_chars = [len(json.dumps(m)) for _, m, _ in calls_rows]
        aio.run(holder["client"].close())

        turn_ms = [e["total"] * 1000 for e in done]
        result = {
            "db": db, "turns": turns, "wall_s": wall, "errors": len(errors),
            "turn_median": common.median(turn_ms), "turn_p99": common.percentile(turn_ms, 99),
            "turn_mean": wall * 1000 / turns,
            "b2b_median": common.median(e["total"] * 1000 for e in back_to_back),
            "b2b_p99": common.percentile([e["total"] * 1000 for e in back_to_back], 99),
            "machine": machine_text,
            "phases": {name: common.median(e[name] * 1000 for e in done) for name in common.PHASES},
            "phases_p99": {name: common.percentile([e[name] * 1000 for e in done], 99) for name in common.PHASES},
            "queries": {name: common.median(e.get(f"{name}_queries", 0) for e in done) for name in common.PHASES},
            "sql_ms": {name: common.median(e.get(f"{name}_sql", 0) * 1000 for e in done) for name in common.PHASES},
            "rest": common.median((e["total"] - sum(e[n] for n in common.PHASES)) * 1000 for e in done),
            "llm_latency_median": common.median(lat for lat, _, _ in calls_rows),
            "bare_same_median": common.median(bare_same), "bare_same_p99": common.percentile(bare_same, 99),
            "bare_tiny_median": common.median(bare_tiny), "bare_tiny_p99": common.percentile(bare_tiny, 99),
            "prompt_chars_median": common.median(prompt_chars), "prompt_chars_max": max(prompt_chars),
        }
        result["overhead"] = result["turn_median"] - result["bare_same_median"]
        return result
    finally:
        fake.stop()


def run_child(db: str, turns: int, calls: int) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--child", db, "--turns", str(turns), "--calls", str(calls)],
                          capture_output=True, text=True, timeout=170)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"\n{db} run failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return None


def report(results: list[dict]) -> None:
    rows = []
    for r in results:
        rows.append([r["db"], r["turns"], r["turn_median"], r["turn_p99"], r["bare_same_median"],
                     r["bare_tiny_median"], r["overhead"], "yes" if r["overhead"] < TARGET_MS else "NO"])
    common.print_table(
        "Engine overhead per turn (inline, fake model latency 0, round_robin; each turn paired with bare calls)",
        ["database", "turns", "turn p50 ms", "turn p99 ms", "bare call p50 ms (same prompt)",
         "bare call p50 ms (tiny prompt)", f"overhead ms (target < {TARGET_MS:g})", "met"], rows)
    rows = []
    for r in results:
        for name in common.PHASES:
            rows.append([f"{r['db']}: {name}", r["phases"][name], r["phases_p99"][name],
                         f"{r['queries'][name]:g}", r["sql_ms"][name]])
        rows.append([f"{r['db']}: rest of run_turn (connection.close)", r["rest"], "-", "-", "-"])
        rows.append([f"{r['db']}: LLMCall.latency_ms (provider's own timing)", r["llm_latency_median"], "-", "-", "-"])
    common.print_table("Where a turn's time goes (paired run, over the committed turns)",
                       ["phase", "p50 ms", "p99 ms", "SQL queries", "SQL ms p50"], rows)
    rows = [[r["db"], r["b2b_median"], r["b2b_p99"], r["turn_mean"], r["wall_s"]] for r in results]
    common.print_table("Back to back (as run_inline runs a session; broadcasts overlap the next turn)",
                       ["database", "turn p50 ms", "turn p99 ms", "wall ms per turn", "wall s"], rows)
    for r in results:
        common.note(f"{r['db']}: prompt size p50 {r['prompt_chars_median']:,.0f} chars, max "
                    f"{r['prompt_chars_max']:,}; failed model calls: {r['errors']}; {r['machine']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("all", "postgres", "sqlite"), default="all")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--calls", type=int, default=200, help="bare calls per variant")
    parser.add_argument("--child", choices=("postgres", "sqlite"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(args.child, args.turns, args.calls)), flush=True)
        return
    dbs = ["postgres", "sqlite"] if args.db == "all" else [args.db]
    common.wait_for_quiet()
    results = [r for r in (run_child(db, args.turns, args.calls) for db in dbs) if r]
    if results:
        report(results)
    if len(results) != len(dbs):
        sys.exit(1)


if __name__ == "__main__":
    main()
