"""Research workbench figures, in Chromium against daphne:

- replay page of a 5,000-event session: from navigation start to the replay
  being usable (its script has laid out the window and set data-ready),
  at the end (?at=5000), in the middle and at the start; target < 1 s;
- annotation keypress to saved: from the keydown of a label key to the
  coding page's "saved" event, i.e. the action answered over the page's
  socket and the page redrawn; target p95 < 50 ms. For scale, the floor:
  a no-op action refused at once, over the socket and by the HTTP door.

Runs on its own database (PostgreSQL `collab_bench_research`, or --db sqlite)
and its own embedded Redis on a unix socket; never the machine's Redis.

    .venv/bin/python bench/research_workbench.py [--db sqlite] [--events 5000] [--keys 200]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / ".out"
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("BENCH_RESEARCH_PG_URL", "postgres://postgres@127.0.0.1:5432/collab_bench_research")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def setup(db: str, events: int):
    from common import ensure_pg_database  # noqa: PLC0415 - bench/common.py, beside this file

    OUT.mkdir(parents=True, exist_ok=True)
    if db == "postgres":
        ensure_pg_database(PG_URL)
        os.environ["DATABASE_URL"] = PG_URL
    else:
        sqlite = OUT / "research.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{sqlite}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "collab.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction

    from collab.research import annotation
    from collab.research.codebooks import codebook_save
    from collab.sessions import events as log
    from collab.sessions import services
    from collab.sessions.models import Session
    from tests.engine_helpers import make_team
    from tests.research_helpers import PAD_KINDS

    call_command("migrate", "--noinput", verbosity=0)
    from collab.research.models import Project

    Project.objects.filter(owner__username="bench-owner").delete()  # before its codebook (protected)
    Session.objects.all().delete()
    User.objects.filter(username__in=["bench-owner", "bench-coder"]).delete()
    owner = User.objects.create_user("bench-owner", password="bench-pass-123")
    coder = User.objects.create_user("bench-coder", password="bench-pass-123")
    session = services.session_create(owner=owner, team=make_team(owner, name=f"bench {time.time_ns()}"),
                                      title="Bench: 5,000 events")
    with transaction.atomic():
        locked = log.lock_session(session.pk)
        for start in range(0, events, 1000):
            log.append_many(locked, [{**PAD_KINDS[i % len(PAD_KINDS)], "turn_index": i // 6}
                                     for i in range(start, min(events, start + 1000))])
    book = codebook_save(owner=owner, codebook=None, name="Bench codes", multi_label=True,
                         labels=[{"name": f"code {i}", "color": "#4f46e5"} for i in range(1, 6)])
    project = annotation.project_create(owner=owner, name="Bench", codebook=book, sessions=[session])
    annotation.coder_add(project=project, by=owner, user=coder)
    return session, project


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "bench-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def measure_replay(page, base: str, session_pk: int, at: int, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        page.goto(f"{base}/research/sessions/{session_pk}/replay/?at={at}", wait_until="commit")
        page.wait_for_selector("#replay[data-ready='1']", state="attached")
        times.append(page.evaluate("performance.getEntriesByName('replay-ready')[0].startTime"))
    return times


def measure_keys(page, base: str, project_pk: int, session_pk: int, keys: int) -> tuple[float, list[float]]:
    page.goto(f"{base}/research/projects/{project_pk}/code/{session_pk}/", wait_until="commit")
    page.wait_for_selector("body[data-code-ready='1']", state="attached")
    page.wait_for_selector("body[data-code-socket='open']", state="attached")
    ready = page.evaluate("performance.getEntriesByName('code-ready')[0].startTime")
    page.evaluate("""() => {
        window.__lat = []; window.__t0 = null;
        document.addEventListener('keydown', () => { window.__t0 = performance.now(); }, true);
        window.addEventListener('collab:saved', () => { window.__lat.push(performance.now() - window.__t0); });
    }""")
    for i in range(min(keys, 99)):  # one label per event, then j; the page holds 100 events
        page.keyboard.press(str(1 + i % 5))
        page.wait_for_function("window.collabCode.pending() === 0")
        page.keyboard.press("j")
    posts = page.evaluate("""performance.getEntriesByType('resource')
        .filter(e => e.name.endsWith('/annotate/')).length""")
    # The floor on this machine now: the same socket, and the HTTP door, answering an action
    # they refuse at once (the coder's seat and sign-in looked up; nothing written).
    floor = page.evaluate("""async (path) => { const out = [];
        const ws = new WebSocket('ws://' + location.host + path);
        await new Promise(r => ws.onopen = r);
        for (let i = 0; i < 50; i++) { const t = performance.now();
            const answered = new Promise(r => ws.onmessage = r);
            ws.send(JSON.stringify({id: i, action: {op: 'noop'}})); await answered;
            out.push(performance.now() - t); }
        ws.close(); return out; }""", f"/ws/research/projects/{project_pk}/code/")
    door = page.evaluate("""async (url) => { const out = [];
        const csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        for (let i = 0; i < 50; i++) { const t = performance.now();
            await fetch(url, {method: 'POST', body: '{"op": "noop"}', headers: {'X-CSRFToken': csrf}});
            out.push(performance.now() - t); }
        return out; }""", f"{base}/research/projects/{project_pk}/annotate/")
    return ready, page.evaluate("window.__lat"), posts, floor, door


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keys", type=int, default=99, help="label keypresses (at most 99)")
    args = parser.parse_args()

    from collab import embedded_redis
    from tests import procs

    sock = ROOT / ".run" / f"bench-research-redis-{os.getpid()}.sock"
    redis_proc = embedded_redis.start(sock)
    os.environ["REDIS_URL"] = f"unix://{sock}"
    daphne = None
    try:
        t0 = time.monotonic()
        session, project = setup(args.db, args.events)
        print(f"setup: {args.events:,} events on {args.db} in {time.monotonic() - t0:.1f} s")
        daphne, base = procs.start_daphne(DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=os.environ["REDIS_URL"],
                                          DJANGO_ALLOW_ASYNC_UNSAFE="")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            # The bench's own probes (wait_for_function) are evaluated strings, which the
            # pages' policy (no eval) would refuse; the pages' own scripts are unaffected.
            page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
            log_in(page, base, "bench-owner")
            measure_replay(page, base, session.pk, session.last_seq, 2)  # warm-up: templates, caches
            print(f"\nreplay page ready (navigation start -> usable), {args.runs} loads each; target < 1000 ms")
            for label, at in (("at the end (?at=5000)", session.last_seq), ("in the middle", session.last_seq // 2),
                              ("at the start", 0)):
                times = measure_replay(page, base, session.pk, at, args.runs)
                print(f"  {label:<24} median {statistics.median(times):6.0f} ms   p95 {pct(times, 0.95):6.0f} ms")
            page.context.clear_cookies()
            log_in(page, base, "bench-coder")
            ready, lat, posts, floor, door = measure_keys(page, base, project.pk, session.pk, args.keys)
            units = len(page.query_selector_all(".unit"))
            print(f"\ncoding page ready with {units:,} codable events: {ready:.0f} ms")
            print(f"annotation keypress -> saved, {len(lat)} label keys: p50 {pct(lat, 0.5):.1f} ms   "
                  f"p95 {pct(lat, 0.95):.1f} ms   max {max(lat):.1f} ms; target p95 < 50 ms")
            print(f"  sent over the page's socket; actions posted to the HTTP door instead: {posts}")
            print(f"  floor: the socket refusing a no-op action: p50 {pct(floor, 0.5):.1f} ms   "
                  f"p95 {pct(floor, 0.95):.1f} ms")
            print(f"  the HTTP door (used while the socket is down) refusing it: p50 {pct(door, 0.5):.1f} ms   "
                  f"p95 {pct(door, 0.95):.1f} ms")
            print(f"  machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            browser.close()
    finally:
        if daphne:
            daphne.stop()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        sock.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
