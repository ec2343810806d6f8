"""The instructor's live wall under load: one wall socket watching N group
sessions (default 50) that all run at once on scripted agents streaming at
COLLAB_SCRIPTED_TPS (default 30 tokens/s each).

What it prints:
- the wall page's HTTP render time with N tiles (median of 5 GETs);
- how long the wall socket takes to open and send every tile;
- update latency while all N stream: this process publishes a probe every
  100 ms through the channel layer (a help flag whose note carries the send
  time) to the wall's group; the consumer re-renders that tile from memory
  and the client records arrival - send (p50, p99, max), next to the frames
  per second the wall receives from the sessions themselves;
- an action's round trip: a hint sent from the wall to one group until its
  "Hint sent." flash returns (it writes the session's log), p50 of 10;
- daphne's CPU while the wall watches (% of one core).

Redis is an embedded redis-server of its own (never the machine's 6379);
the database is the bench PostgreSQL (BENCH_PG_URL) or, with --db sqlite, a
file under bench/.out/.

    .venv/bin/python bench/course_wall.py [--groups 50] [--window 15] [--db postgres|sqlite]
"""

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
from collab import embedded_redis  # noqa: E402

_SOCK = BENCH / ".out" / f"wall-redis-{os.getpid()}.sock"
_SOCK.parent.mkdir(parents=True, exist_ok=True)
_REDIS = embedded_redis.start(_SOCK)
os.environ["BENCH_REDIS_URL"] = f"unix://{_SOCK}?db=8"

sys.path.insert(0, str(BENCH))
import common  # noqa: E402

PROBE = re.compile(r"wallprobe:(\d+):([\d.]+)")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def make_assignment(groups: int):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from collab.courses import services
    from collab.courses.forms import default_rubric
    from collab.courses.models import Course, CourseMember

    Course.objects.all().delete()
    User.objects.filter(username__startswith="wallstudent").delete()
    instructor = common.make_user("wallprof")
    course = services.course_create(by=instructor, title="Bench course")
    for i in range(groups):
        group = services.group_create(course=course, by=instructor, name=f"Group {i + 1:02d}")
        student = User.objects.create(username=f"wallstudent{i}")
        CourseMember.objects.create(course=course, user=student, role="student", group=group)
    now = timezone.now()
    assignment = services.assignment_save(course=course, by=instructor, data={
        "title": "Bench assignment", "brief": "Keep talking about a bike shelter.",
        "preset": "senior_design_panel_discussion", "team": None, "student_roles": [],
        "protocol": "round_robin", "protocol_params": {"rounds": 200}, "topology": "everyone",
        "rubric": default_rubric(), "model_profile": None, "token_budget": None, "cost_budget": None,
        "max_turns": 800, "seat_timeout": 60, "opens_at": now, "due_at": now + timezone.timedelta(days=1)})
    services.assignment_publish(assignment=assignment, by=instructor)
    return instructor, assignment


async def watch(url: str, cookie: str, assignment_id: int, groups: int, window: float) -> dict:
    import websockets
    from channels.layers import get_channel_layer

    from collab.courses import wall_bus
    from collab.courses.models import GroupSession

    session_ids = [sid async for sid in GroupSession.objects.filter(assignment_id=assignment_id)
                   .values_list("session_id", flat=True)]
    link_ids = [lid async for lid in GroupSession.objects.filter(assignment_id=assignment_id)
                .values_list("id", flat=True)]
    ws_url = url.replace("http://", "ws://") + f"/ws/courses/assignments/{assignment_id}/wall/"
    started = time.monotonic()
    ws = await websockets.connect(ws_url, origin=url, additional_headers={"Cookie": f"sessionid={cookie}"},
                                  max_size=2 ** 24, ping_interval=None)
    first = await ws.recv()
    opened = time.monotonic() - started
    tiles = len(re.findall(r'<article class="tile', first))
    layer = get_channel_layer()
    delays, frames, hint_rtts, seen = [], 0, [], set()
    pending_hint: list[float] = []
    stop = asyncio.Event()

    async def reader():
        nonlocal frames
        async for message in ws:
            now = time.time()
            frames += 1
            for match in PROBE.finditer(message):
                if match.group(1) not in seen:  # a tile keeps its note: later re-renders repeat it
                    seen.add(match.group(1))
                    delays.append((now - float(match.group(2))) * 1000)
            if "Hint sent." in message and pending_hint:
                hint_rtts.append((time.monotonic() - pending_hint.pop(0)) * 1000)
            if stop.is_set():
                break

    task = asyncio.create_task(reader())
    await asyncio.sleep(3)  # every session is streaming by now
    frames_before, t0 = frames, time.monotonic()
    seq = 0
    hints = 0
    while time.monotonic() - t0 < window:
        sid = session_ids[seq % len(session_ids)]
        await layer.group_send(wall_bus.group_name(assignment_id), {
            "type": "wall.help", "session_id": sid, "help": True, "note": f"wallprobe:{seq}:{time.time():.6f}"})
        seq += 1
        if seq % 10 == 0 and hints < 10:
            pending_hint.append(time.monotonic())
            await ws.send(json.dumps({"action": "hint", "link": str(link_ids[hints % len(link_ids)]),
                                      "text": f"bench hint {hints}"}))
            hints += 1
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - t0
    await asyncio.sleep(1)
    stop.set()
    await ws.close()
    task.cancel()
    return {"opened_s": opened, "tiles": tiles, "probes": seq, "delays": delays,
            "fps": (frames - frames_before) / elapsed, "hint_rtts": hint_rtts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--tps", default="30")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()

    common.configure(args.db, COLLAB_SCRIPTED_TPS=args.tps)
    instructor, assignment = make_assignment(args.groups)
    cookie = common.session_cookie(instructor)
    daphne, url = common.start_daphne()
    worker = common.start_worker(concurrency=16)
    try:
        renders = []
        for _ in range(5):
            req = urllib.request.Request(f"{url}/courses/assignments/{assignment.pk}/wall/",
                                         headers={"Cookie": f"sessionid={cookie}"})
            t = time.monotonic()
            body = urllib.request.urlopen(req, timeout=30).read().decode()
            renders.append((time.monotonic() - t) * 1000)
        assert body.count('<article class="tile') == args.groups, "the wall shows every group"
        meter = common.CpuMeter(daphne.pid, children=False)
        meter.mark()
        result = asyncio.run(watch(url, cookie, assignment.pk, args.groups, args.window))
        cpu = meter.percent()
    finally:
        worker.stop()
        daphne.stop()
        from collab.sessions.models import Session

        Session.objects.filter(status__in=["running", "paused", "awaiting_human"]).update(status="finished")
    d = result["delays"]
    print(f"course wall: {args.groups} live group sessions, scripted agents at {args.tps} tokens/s, db {args.db}")
    print(f"  wall page render (HTTP, {args.groups} tiles): median {statistics.median(renders):.0f} ms")
    print(f"  socket open to every tile sent: {result['opened_s'] * 1000:.0f} ms ({result['tiles']} tiles)")
    print(f"  tile update latency over {args.window:.0f} s ({len(d)} of {result['probes']} probes arrived): "
          f"p50 {pct(d, 0.5):.1f} ms, p99 {pct(d, 0.99):.1f} ms, max {max(d, default=float('nan')):.1f} ms")
    print(f"  frames the wall received (tiles, deltas, probes): {result['fps']:.0f}/s")
    print(f"  hint round trip (wall -> session log -> flash): p50 {pct(result['hint_rtts'], 0.5):.0f} ms "
          f"of {len(result['hint_rtts'])}")
    print(f"  daphne CPU while watching: {cpu:.0f}% of one core")


if __name__ == "__main__":
    try:
        main()
    finally:
        os.killpg(_REDIS.pid, signal.SIGTERM)  # its own process group: the server and nothing else
        _REDIS.wait(10)
        _SOCK.unlink(missing_ok=True)
