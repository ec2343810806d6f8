"""Shared setup for the benchmarks in bench/.

Each script calls `configure()` first: it points the settings at the bench
database and Redis DBs 8-10 (broker, channel layer, control), flushes those,
runs `django.setup()` and `migrate`, and empties the session tables so no
stale running session of an earlier run reaches this run's worker.

Everything a run writes (process logs, the SQLite file, timing dumps) goes
under bench/.out/, which bench/.gitignore keeps out of git.
"""

import json
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / ".out"
LOGS = OUT / "logs"
PYTHON = sys.executable

PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/collab_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
SQLITE_PATH = OUT / "bench.sqlite3"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# With DEBUG off collab refuses to start without a secret key; the bench's
# processes (this one, its workers and daphne) inherit one made for this run.
os.environ.setdefault("SECRET_KEY", "bench-" + os.urandom(32).hex())

from tests import procs  # noqa: E402 - the tests' process wrapper, shared

# --- environment, database, Redis ------------------------------------------------

def db_url(db: str) -> str:
    return PG_URL if db == "postgres" else f"sqlite:///{SQLITE_PATH}"


def ensure_pg_database(url: str = PG_URL) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = f"host={parts.hostname} port={parts.port or 5432} user={parts.username or 'postgres'} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str = REDIS_URL) -> None:
    import redis

    from collab import redis_urls

    _, base = redis_urls.parse(url)
    for offset in range(3):
        client = redis.Redis.from_url(redis_urls.with_db(url, base + offset))
        client.flushdb()
        client.close()


def configure(db: str = "postgres", **env: str) -> None:
    """Set the environment, then django.setup(), migrate, and empty the session tables."""
    OUT.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "collab.settings"
    if db == "postgres":
        ensure_pg_database()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = db_url(db)
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(env)
    flush_redis()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    reset_tables()


def reset_tables() -> None:
    from django.db import connection

    from collab.sessions.models import Session
    from collab.teams.models import ModelProfile, Team

    tables = [Session._meta.db_table, Team._meta.db_table, ModelProfile._meta.db_table]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        Session.objects.all().delete()
        Team.objects.all().delete()
        ModelProfile.objects.all().delete()


# --- users, teams, sessions --------------------------------------------------------

def make_user(username: str = "bench"):
    from django.contrib.auth.models import User

    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password("bench-pass-123")
        user.save()
    return user


def fake_profile(base_url: str, timeout: float = 30.0):
    from collab.teams.models import ModelProfile

    return ModelProfile.objects.create(
        name=f"bench-fake-{base_url}-{time.time_ns()}", provider="openai", base_url=base_url, model="fake-model",
        api_key_env="FAKE_OPENAI_KEY", timeout_seconds=timeout, max_tokens=256)


def make_team(owner, n_roles: int = 3, profile=None, name: str | None = None):
    from collab.teams.models import Role, Team

    team = Team.objects.create(name=name or f"bench-{time.time_ns()}", owner=owner)
    Role.objects.bulk_create(
        Role(team=team, order=i, name=f"agent{i}", persona=f"You are agent {i}.", expertise="benchmarks",
             strength=n_roles - i, model_profile=profile)
        for i in range(n_roles))
    return team


def session_cookie(user) -> str:
    """A logged-in `sessionid` cookie value for `user` (Django's db session store)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


# --- processes ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


class Proc(procs.Proc):
    """A process of the bench's (the tests' Proc), logging under bench/.out/logs."""

    def __init__(self, name: str, args: list[str], env: dict):
        super().__init__(name, args, env, LOGS)

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)


def _wait_http(proc: Proc, url: str, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{what} exited:\n{proc.output()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"{what} did not answer at {url}:\n{proc.output()[-3000:]}")


def start_fake_server(latency: float = 0.0, chunk_delay: float = 0.0, reply: str | None = None) -> tuple[Proc, str]:
    """The fake OpenAI server as its own process (its own core and GIL); returns (proc, base_url)."""
    port = free_port()
    args = [PYTHON, "-m", "collab.llm.fake_server", "--port", str(port), "--latency", str(latency),
            "--chunk-delay", str(chunk_delay)]
    if reply is not None:
        args += ["--reply", reply]
    proc = Proc("fake-server", args, child_env())
    base_url = f"http://127.0.0.1:{port}/v1"
    _wait_http(proc, f"{base_url}/models", "fake server")
    return proc, base_url


def start_worker(concurrency: int = 16, timings: Path | None = None, loglevel: str = "WARNING", **env: str) -> Proc:
    """A Celery worker (--pool threads) on the bench settings. With `timings`, it runs
    through bench/_worker.py, which times each turn's phases into that file (JSON lines)."""
    from collab.core.health import count_workers

    name = f"bench{os.getpid()}-{time.time_ns() % 100000}"
    worker_args = ["worker", "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", loglevel,
                   "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"]
    if timings is not None:
        env = {**env, "BENCH_TIMINGS": str(timings)}
        args = [PYTHON, str(BENCH / "_worker.py"), *worker_args]
    else:
        args = [PYTHON, "-m", "celery", "-A", "collab", *worker_args]
    proc = Proc("worker", args, child_env(**env))
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"worker exited:\n{proc.output()[-3000:]}")
        if any(n.startswith(f"{name}@") for n in count_workers(timeout=0.5).get("names", [])):
            return proc
        time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"worker did not answer a ping:\n{proc.output()[-3000:]}")


def start_daphne(profile: Path | None = None, **env: str) -> tuple[Proc, str]:
    """daphne on a free port; with `profile`, under cProfile (main thread: the reactor and the
    consumers; written when daphne exits on SIGTERM)."""
    port = free_port()
    prefix = [PYTHON, "-m", "cProfile", "-o", str(profile)] if profile is not None else [PYTHON]
    proc = Proc("daphne", [*prefix, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "collab.asgi:application"],
                child_env(**env))
    url = f"http://127.0.0.1:{port}"
    _wait_http(proc, f"{url}/accounts/login/", "daphne")
    return proc, url


class CpuMeter:
    """CPU use of a process (and, unless children=False, its children) between two
    readings, as % of one core."""

    def __init__(self, pid: int, children: bool = True):
        import psutil

        self.proc = psutil.Process(pid)
        self.children = children
        self.mark()

    def _cpu(self) -> float:
        times = self.proc.cpu_times()
        total = times.user + times.system
        if not self.children:
            return total
        try:
            for child in self.proc.children(recursive=True):
                t = child.cpu_times()
                total += t.user + t.system
        except Exception:
            pass
        return total

    def mark(self) -> None:
        self.t0, self.c0 = time.monotonic(), self._cpu()

    def percent(self) -> float:
        return 100 * (self._cpu() - self.c0) / max(1e-9, time.monotonic() - self.t0)


class MachineMeter:
    """Where the machine's CPU went since mark(), in cores: this run's process tree,
    PostgreSQL + Redis (shared services), and everything else (another session's
    tests, a browser) which makes the figures noisy on a 2-core machine."""

    SHARED = ("postgres", "redis-server")

    def __init__(self):
        import psutil

        self.psutil = psutil
        self.mark()

    def _snapshot(self) -> dict:
        me = self.psutil.Process()
        ours = {me.pid, *(c.pid for c in me.children(recursive=True))}
        out = {}
        for proc in self.psutil.process_iter(["name", "cpu_times", "create_time"]):
            name, times = proc.info["name"] or "", proc.info["cpu_times"]
            if times is None:
                continue
            kind = "ours" if proc.pid in ours else "shared" if name.startswith(self.SHARED) else "other"
            out[(proc.pid, proc.info["create_time"])] = (kind, name, times.user + times.system)
        return out

    def mark(self) -> None:
        self.t0, self.before = time.monotonic(), self._snapshot()

    def usage(self) -> dict:
        """{'ours', 'shared', 'other': cores, 'busiest_other': text}."""
        elapsed = max(1e-9, time.monotonic() - self.t0)
        totals = {"ours": 0.0, "shared": 0.0, "other": 0.0}
        others = []
        for key, (kind, name, cpu) in self._snapshot().items():
            delta = cpu - self.before.get(key, (kind, name, 0.0))[2]
            if delta > 0:
                totals[kind] += delta / elapsed
                if kind == "other":
                    others.append((delta / elapsed, name))
        others.sort(reverse=True)
        totals["busiest_other"] = ", ".join(f"{n} {c:.2f}" for c, n in others[:3]) or "none"
        return totals

    def other_cores(self) -> tuple[float, str]:
        u = self.usage()
        return u["other"], u["busiest_other"]

    def describe(self) -> str:
        u = self.usage()
        return (f"CPU in cores since the start: this run's processes {u['ours']:.2f}, PostgreSQL+Redis "
                f"{u['shared']:.2f}, other processes {u['other']:.2f} ({u['busiest_other']})")


def wait_for_quiet(max_wait: float = 30.0, threshold: float = 0.3) -> None:
    """Wait (up to max_wait s) until processes outside this run use under `threshold` cores
    over one second; say so if they never do. On a 2-core machine another session's test
    suite moves every figure."""
    deadline = time.monotonic() + max_wait
    while True:
        meter = MachineMeter()
        time.sleep(1.0)
        cores, busiest = meter.other_cores()
        if cores < threshold:
            return
        if time.monotonic() > deadline:
            note(f"WARNING: other processes keep using {cores:.2f} cores ({busiest}); figures will be noisy")
            return


# --- turn timing (instrumentation, not engine changes) -----------------------------

PHASES = ("claim", "prepare", "call_agents", "commit")
_tl = threading.local()


def instrument_runner(record) -> None:
    """Wrap collab.engine.runner's phases with timers; `record(dict)` gets one dict per
    run_turn call: session, turn, t0/t1 (epoch s), total and each phase (s)."""
    from collab.engine import runner

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            _tl.phase = name
            try:
                return fn(*args, **kwargs)
            finally:
                _tl.phase = None
                current = getattr(_tl, "current", None)
                if current is not None:
                    current[name] = time.perf_counter() - started
                    current[f"{name}_end"] = time.time()
        return wrapper

    for name in PHASES:
        setattr(runner, name, timed(name, getattr(runner, name)))
    original = runner.run_turn

    def run_turn(session_id, turn_index):
        _tl.current = entry = {"session": session_id, "turn": turn_index, "t0": time.time()}
        started = time.perf_counter()
        try:
            return original(session_id, turn_index)
        finally:
            entry["total"] = time.perf_counter() - started
            entry["t1"] = time.time()
            _tl.current = None
            record(entry)

    runner.run_turn = run_turn


def count_queries() -> None:
    """Count and time the SQL of this thread's connection per phase of the current turn
    (entry keys `<phase>_queries` and `<phase>_sql`, in s). Call after instrument_runner."""
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            current, phase = getattr(_tl, "current", None), getattr(_tl, "phase", None) or "other"
            if current is not None:
                current[f"{phase}_queries"] = current.get(f"{phase}_queries", 0) + 1
                current[f"{phase}_sql"] = current.get(f"{phase}_sql", 0.0) + time.perf_counter() - started

    connection.execute_wrappers.append(wrapper)


def read_timings(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def phase_rows(entries: list[dict], label_prefix: str = "") -> list[list]:
    """Median and p99 (ms) of each phase over the committed turns."""
    done = [e for e in entries if "commit" in e]
    rows = []
    for name in (*PHASES, "total"):
        values = [e[name] * 1000 for e in done if name in e]
        if values:
            rows.append([f"{label_prefix}{name}", fmt(median(values)), fmt(percentile(values, 99)), len(values)])
    return rows


# --- figures -----------------------------------------------------------------------

def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(values, p: float) -> float:
    """Linear-interpolated percentile, p in 0..100."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def fmt(value, digits: int = 1) -> str:
    if isinstance(value, str):
        return value
    if value is None or value != value:
        return "-"
    return f"{value:,.{digits}f}"


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    cells = [[str(h) for h in headers]] + [[c if isinstance(c, str) else fmt(c) if isinstance(c, float) else str(c)
                                            for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)
    print(f"\n{title}")
    print(line)
    for n, row in enumerate(cells):
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))))
        if n == 0:
            print(line)
    print(line, flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)
