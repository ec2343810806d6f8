"""Live fan-out: delay from the server sending a delta to observers receiving it.

One session streams scripted agents at ~50 tokens/s (worker env
COLLAB_SCRIPTED_TPS=50; round_robin with many rounds, so it keeps streaming;
deltas are batched every ~75 ms). N observer websockets, logged in as the
owner, connect to ONE daphne process on loopback from this process (daphne,
the worker and this client process are separate processes) and each sends
{"type": "hello", "last_seq": 0}.

The probe: this process publishes timestamped deltas through the channel
layer to the session's group at 20/s alongside the real stream:
    group_send("session-<id>", {"type": "turn.delta", "turn": 999999, "actor": "probe",
                                "offset": 0, "text": "<step>:<seq>:<time.time()>"})
Every client parses the probe fragments
    <div hx-swap-oob="beforeend:#live-body-999999-probe">step:seq:sent</div>
and records receive time - sent time. Per N: connect the new clients, wait
until a sync probe reaches all of them (the join storm has drained), then
send probes for a fixed window and take p50/p99 over all clients x probes.

Each point N runs on a fresh session and a fresh daphne, so a saturated point
leaves no backlog behind. N = 10, 100 and 200 are always measured; then N
steps up (300, 400, 600, 800, ...) while every point held, and the gap between
the largest N held and the smallest that failed is bisected (to ~10%). Held
means p99 < 100 ms, every client connected, and no probe lost.

    .venv/bin/python bench/live_fanout.py [--steps 10,100,200,...] [--window 5]
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TPS = 50
PROBE_RATE = 20.0  # default of --probe-rate
P99_TARGET_MS = 100.0
PROBE_TURN = 999999  # a turn no session reaches: the consumer's de-duplication of a shown turn never applies
PROBE_MARK = f"live-body-{PROBE_TURN}-probe"
PROBE = re.compile(PROBE_MARK + r'">([\w-]+):(\d+):([\d.]+)<')
HANDSHAKES_AT_ONCE = 50
DEADLINE_S = 150  # no new point past this, to stay near 3 minutes


class Observers:
    def __init__(self, uri: str, origin: str, cookie: str):
        self.uri, self.origin, self.cookie = uri, origin, cookie
        self.samples: dict[str, list[float]] = defaultdict(list)
        # (client, receive time, delay ms) per probe, and when each client got a fragment that
        # daphne renders from a template per observer (an event, a turn start): a render burst.
        self.timed: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        self.renders: dict[int, list[float]] = defaultdict(list)
        self.received: Counter = Counter()
        self.messages = 0
        self.real_deltas = 0  # non-probe delta fragments seen by client 0
        self.open = 0
        self.ready = 0
        self.failed: list[str] = []
        self.closed: list[str] = []
        self.tasks: list[asyncio.Task] = []
        self.sockets = []
        self.gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    async def one(self, index: int) -> None:
        import websockets

        async with self.gate:
            try:
                ws = await websockets.connect(
                    self.uri, origin=self.origin, additional_headers={"Cookie": f"sessionid={self.cookie}"},
                    compression=None, max_queue=None, ping_interval=None, open_timeout=60, max_size=2 ** 24)
            except Exception as exc:  # noqa: BLE001 - any failure to connect counts as not held
                self.failed.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            self.sockets.append(ws)
            self.open += 1
            await ws.send(json.dumps({"type": "hello", "last_seq": 0}))
        first = True
        try:
            async for message in ws:
                now = time.time()
                self.messages += 1
                if first:
                    self.ready += 1
                    first = False
                if PROBE_MARK in message:
                    match = PROBE.search(message)
                    if match:
                        step, seq, sent = match.groups()
                        delay = (now - float(sent)) * 1000
                        self.samples[step].append(delay)
                        self.timed[step].append((index, now, delay))
                        self.received[(step, int(seq))] += 1
                elif "beforeend:#stream" in message or 'id="session-stats"' in message:
                    self.renders[index].append(now)
                elif index == 0 and "beforeend:#live-body-" in message:
                    self.real_deltas += 1
        except Exception as exc:  # noqa: BLE001 - a closed socket is reported, not raised
            self.closed.append(f"{type(exc).__name__}: {exc}"[:200])
        finally:
            self.open -= 1

    async def add(self, count: int, timeout: float = 90) -> None:
        start = len(self.tasks)
        self.tasks += [asyncio.create_task(self.one(start + i)) for i in range(count)]
        target = len(self.tasks)
        deadline = time.monotonic() + timeout
        while self.ready + len(self.failed) < target and time.monotonic() < deadline:
            await asyncio.sleep(0.1)


async def probe(layer, group: str, step: str, seq: int) -> None:
    await layer.group_send(group, {"type": "turn.delta", "turn": PROBE_TURN, "actor": "probe", "offset": 0,
                                   "text": f"{step}:{seq}:{time.time():.6f}"})


async def sync(layer, group: str, obs: Observers, tag: str, timeout: float = 20) -> float:
    """Send a probe and wait until every open client has it: the backlog has drained."""
    started = time.monotonic()
    deadline = started + timeout
    attempt = 0
    while time.monotonic() < deadline:
        step = f"sync{tag}x{attempt}"
        await probe(layer, group, step, 0)
        until = min(deadline, time.monotonic() + 10)
        while time.monotonic() < until:
            if obs.received[(step, 0)] >= obs.open > 0:
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        attempt += 1
    return float("nan")


async def measure_step(layer, group: str, obs: Observers, n: int, window: float, daphne_pid: int) -> dict:
    step = f"n{n}"
    count = int(window * PROBE_RATE)  # PROBE_RATE is set from --probe-rate in main()
    daphne_cpu = common.CpuMeter(daphne_pid)
    client_cpu = common.CpuMeter(os.getpid(), children=False)
    messages0, deltas0 = obs.messages, obs.real_deltas
    started = time.monotonic()
    send_ms = []
    for seq in range(count):
        t = time.perf_counter()
        await probe(layer, group, step, seq)
        send_ms.append((time.perf_counter() - t) * 1000)
        await asyncio.sleep(max(0.0, started + (seq + 1) / PROBE_RATE - time.monotonic()))
    sent_for = time.monotonic() - started
    result = {"daphne_cpu": daphne_cpu.percent(), "client_cpu": client_cpu.percent(),
              "msgs_per_s": (obs.messages - messages0) / sent_for,
              "real_deltas_per_s": (obs.real_deltas - deltas0) / sent_for}
    expected = count * obs.open
    deadline = time.monotonic() + 5
    while sum(v for (s, _), v in obs.received.items() if s == step) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    samples = obs.samples[step]
    # Per probe (all observers): was it in flight while a fragment that daphne renders from a
    # template for each observer (an event, a turn start, the stats) went out? A stall of daphne
    # delays a probe for every observer alike.
    probes: dict[float, list[float]] = defaultdict(list)
    for _, received, delay in obs.timed[step]:
        probes[round(received - delay / 1000, 3)].append(delay)
    rendered = sorted(t for times in obs.renders.values() for t in times)
    slow = behind = 0
    for sent, delays in probes.items():
        if statistics.median(delays) > P99_TARGET_MS / 2:
            slow += 1
            last = sent + max(delays) / 1000
            behind += any(sent - 0.02 <= t <= last for t in rendered)
    result.update(probes=len(probes), slow_probes=slow, slow_behind_render=behind)
    dump = common.OUT / f"fanout-{step}-{time.time_ns()}.json"
    dump.write_text(json.dumps({"timed": obs.timed[step], "renders": obs.renders, "send_ms": send_ms}))
    result["send_p99"] = common.percentile(send_ms, 99)
    got = sum(v for (s, _), v in obs.received.items() if s == step)
    result.update({
        "n": n, "open": obs.open, "failed": len(obs.failed), "closed": len(obs.closed), "samples": len(samples),
        "lost": max(0, expected - got), "p50": common.percentile(samples, 50), "p99": common.percentile(samples, 99),
        "max": max(samples) if samples else float("nan"),
    })
    result["held"] = (result["p99"] < P99_TARGET_MS and result["failed"] == 0 and result["closed"] == 0
                      and result["lost"] == 0 and result["open"] == n)
    return result


async def observe(n: int, session_id: int, daphne_url: str, daphne_pid: int, cookie: str, window: float) -> dict:
    """Connect n observers, let the join storm drain, then measure a probe window."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group = f"session-{session_id}"
    host = daphne_url.removeprefix("http://")
    obs = Observers(f"ws://{host}/ws/sessions/{session_id}/", daphne_url, cookie)
    joined = time.monotonic()
    await obs.add(n)
    join_s = time.monotonic() - joined
    drain_s = await sync(layer, group, obs, f"{n}")
    await asyncio.sleep(0.5)
    result = await measure_step(layer, group, obs, n, window, daphne_pid)
    result.update(join_s=join_s, drain_s=drain_s, errors=(obs.failed + obs.closed)[:1])
    for ws in list(obs.sockets):
        ws.transport.abort()  # no closing handshake: daphne is stopped next anyway
    for task in obs.tasks:
        task.cancel()
    await asyncio.gather(*obs.tasks, return_exceptions=True)
    return result


class Bench:
    """One measurement point = a fresh session, a fresh daphne, n fresh observers, so a
    saturated point leaves no backlog to the next and catch-up (hello last_seq 0) stays small."""

    def __init__(self, args, owner, cookie, team, worker):
        self.args, self.owner, self.cookie, self.team, self.worker = args, owner, cookie, team, worker
        self.results: dict[int, dict] = {}
        self.turns = self.events = 0

    def point(self, n: int) -> dict:
        from django.db import connection

        from collab.sessions import services
        from collab.sessions.models import Event, Session

        if n in self.results:
            return self.results[n]
        session = services.session_create(
            owner=self.owner, team=self.team, protocol="round_robin", protocol_params={"rounds": 334},
            provider="scripted", max_turns=1000, brief=f"Keep talking: fan-out bench, N={n}.")
        profile = common.OUT / f"daphne-{time.time_ns()}.pstats" if self.args.profile else None
        daphne, url = common.start_daphne(profile=profile)
        try:
            services.session_start(session=session, user=self.owner)
            deadline = time.monotonic() + 30
            while not Event.objects.filter(session=session, kind="message").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the session did not stream:\n{self.worker.output()[-3000:]}")
                time.sleep(0.1)
            connection.close()
            result = asyncio.run(observe(n, session.pk, url, daphne.pid, self.cookie, self.args.window))
        finally:
            daphne.stop(timeout=5)
            services.session_stop(session=Session.objects.get(pk=session.pk), user=self.owner)
        state = Session.objects.get(pk=session.pk)
        self.turns += state.next_turn
        self.events += state.last_seq
        result["profile"] = profile
        self.results[n] = result
        print(f"  N={n}: p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, held: {result['held']} "
              f"(connect {result['join_s']:.1f} s, join storm drained in {result['drain_s']:.1f} s)", flush=True)
        return result

    def search(self, started: float) -> list[str]:
        """Required points first, then up the steps while held, then bisect the gap."""
        notes = []

        def budget_left() -> bool:
            return time.monotonic() - started < DEADLINE_S

        for n in self.args.required:
            self.point(n)
        for n in [n for n in self.args.steps if n > max(self.args.required)]:
            if any(not r["held"] for r in self.results.values()) or not budget_left():
                break
            self.point(n)
        while budget_left():
            held = [n for n, r in self.results.items() if r["held"]]
            failed = [n for n, r in self.results.items() if not r["held"] and n > max(held or [0])]
            if not failed:
                break
            low, high = max(held or [0]), min(failed)
            step = max(10, round(low * 0.1, -1))
            if high - low <= step:
                break
            self.point(int(round((low + high) / 2 / 5) * 5) or 5)
        else:
            notes.append(f"stopped searching: past the {DEADLINE_S} s budget of this script")
        return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="300,400,600,800,1000,1200,1600",
                        type=lambda s: [int(x) for x in s.split(",")], help="tried upwards while held")
    parser.add_argument("--required", default="10,100,200", type=lambda s: [int(x) for x in s.split(",")],
                        help="points always measured")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of probes per N")
    parser.add_argument("--probe-rate", type=float, default=20.0,
                        help="probes per second (each is one more message per observer)")
    parser.add_argument("--profile", action="store_true",
                        help="run daphne under cProfile and print where its main thread spent its time (slower)")
    args = parser.parse_args()
    global PROBE_RATE  # noqa: PLW0603 - one setting for the whole run
    PROBE_RATE = args.probe_rate
    try:
        import websockets  # noqa: F401
    except ImportError:
        sys.exit("live_fanout.py needs the websockets package: .venv/bin/pip install websockets")

    common.configure("postgres")
    common.wait_for_quiet()
    started = time.monotonic()
    machine = common.MachineMeter()
    owner = common.make_user()
    cookie = common.session_cookie(owner)
    team = common.make_team(owner, 3)  # no model profile: scripted agents
    worker = common.start_worker(concurrency=4, COLLAB_SCRIPTED_TPS=str(TPS))
    bench = Bench(args, owner, cookie, team, worker)
    try:
        notes = bench.search(started)
        other, busiest = machine.other_cores()
    finally:
        worker.stop()

    results = [bench.results[n] for n in sorted(bench.results)]
    rows = [[r["n"], r["open"], r["p50"], r["p99"], r["max"], r["samples"], r["lost"], r["msgs_per_s"],
             r["daphne_cpu"], r["client_cpu"], "yes" if r["held"] else "NO"] for r in results]
    common.print_table(
        f"Live fan-out on one daphne process: probe delta send -> client receive (scripted stream at {TPS} tokens/s, "
        f"probes {PROBE_RATE:g}/s for {args.window:g} s per N)",
        ["N", "open", "p50 ms", "p99 ms", "max ms", "samples", "lost", "msgs/s delivered", "daphne CPU %",
         "clients CPU %", f"p99 < {P99_TARGET_MS:g} ms"], rows)
    held = [r["n"] for r in results if r["held"]]
    failed_above = [r["n"] for r in results if not r["held"] and r["n"] > max(held or [0])]
    common.note(f"largest N held with p99 < {P99_TARGET_MS:g} ms: {max(held) if held else 'none'}"
                + (f" (smallest N above it that failed: {min(failed_above)})" if failed_above
                   else " (no larger N failed: the ceiling may be higher)"))
    for r in results:
        common.note(f"N={r['n']}: connecting took {r['join_s']:.1f} s, the join broadcasts drained in "
                    f"{r['drain_s']:.1f} s; real deltas seen by one client {r['real_deltas_per_s']:.1f}/s"
                    + (f"; first client error: {r['errors'][0]}" if r["errors"] else ""))
    rows = [[r["n"], r["probes"], r["slow_probes"], r["slow_behind_render"], r["send_p99"]]
            for r in results if r["samples"]]
    common.print_table(
        f"Slow probes (median over observers > {P99_TARGET_MS / 2:g} ms) and the per-observer template renders "
        f"(event, turn start, stats fragments) in flight with them",
        ["N", "probes", "slow probes", "slow, with renders in flight", "probe group_send p99 ms"], rows)
    common.note(f"streams: {bench.turns} turns, {bench.events} events in all; other processes on the machine used "
                f"{other:.2f} cores meanwhile ({busiest})")
    for text in notes:
        common.note(text)
    for r in results:
        if r["profile"] is not None:
            common.note(f"N={r['n']}:")
            print_profile(r["profile"])


PROFILE_ROWS = [
    ("consumer dispatch (all channel-layer messages)", "channels/consumer.py", "dispatch"),
    ("  channels' aclose_old_connections (per message)", "channels/db.py", "aclose_old_connections"),
    ("  turn_delta", "collab/live/consumers.py", "turn_delta"),
    ("  log_event (event fragments)", "collab/live/consumers.py", "log_event"),
    ("  turn_start", "collab/live/consumers.py", "turn_start"),
    ("  session_stats", "collab/live/consumers.py", "session_stats"),
    ("  presence_update", "collab/live/consumers.py", "presence_update"),
    ("  _catch_up (hello, gap fill)", "collab/live/consumers.py", "_catch_up"),
    ("django render_to_string (all fragments)", "django/template/loader.py", "render_to_string"),
    ("websocket send (channels -> daphne)", "channels/generic/websocket.py", "send"),
    ("autobahn sendMessage", "autobahn/websocket/protocol.py", "sendMessage"),
    ("channels_redis receive", "channels_redis/core.py", "receive"),
]


def print_profile(path: Path) -> None:
    """Cumulative time of daphne's main thread in the consumer's handlers and the layers around them."""
    import pstats

    if not path.exists():
        common.note(f"no daphne profile at {path} (daphne did not exit cleanly)")
        return
    stats = pstats.Stats(str(path)).stats
    busy = sum(tt for (_, _, fn), (_, _, tt, _, _) in stats.items() if "poll' of 'select.epoll" not in fn)
    rows = []
    for label, file_end, func in PROFILE_ROWS:
        hits = [(ct, nc) for (f, _, fn), (_, nc, _, ct, _) in stats.items() if f.endswith(file_end) and fn == func]
        rows.append([label, sum(ct for ct, _ in hits), sum(nc for _, nc in hits)])
    common.print_table(f"daphne main thread under cProfile (busy {busy:.1f} s; cumulative s, nested rows overlap)",
                       ["where", "cumulative s", "calls"], rows)


if __name__ == "__main__":
    main()
