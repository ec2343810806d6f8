"""`make run`: the whole app on one machine with embedded defaults.

Starts an embedded Redis (when REDIS_URL is unset), checks the settings,
migrates, loads demo data, then runs daphne and a Celery worker until
Ctrl-C, and stops every process it started. A process that dies (a crash,
the OOM killer, a Redis outage) is started again after a short, growing
delay; the app never shuts down because one part of it did.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = BASE_DIR / ".run"
PYTHON = sys.executable
HOST = os.environ.get("COLLAB_HOST", "127.0.0.1")
PORT = os.environ.get("COLLAB_PORT", "8000")


def say(message: str) -> None:
    print(f"collab: {message}", flush=True)


def manage(*args: str, env: dict) -> None:
    result = subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], env=env, cwd=BASE_DIR)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


# Seconds before restarting a process that died, growing with each crash in a
# row; a process that ran for STABLE_SECONDS starts the count over.
RESTART_DELAYS = (1, 2, 5, 10, 30)
STABLE_SECONDS = 60


class Supervised:
    def __init__(self, name: str, start: Callable[[], subprocess.Popen | None], proc: subprocess.Popen | None = None):
        self.name, self._start = name, start
        self.proc = proc or start()
        self.started = time.monotonic()
        self.crashes = 0
        self.restart_at: float | None = None

    def check(self) -> None:
        now = time.monotonic()
        if self.proc.poll() is None:
            if self.crashes and now - self.started > STABLE_SECONDS:
                self.crashes = 0
            return
        if self.restart_at is None:
            delay = RESTART_DELAYS[min(self.crashes, len(RESTART_DELAYS) - 1)]
            self.crashes += 1
            self.restart_at = now + delay
            say(f"{self.name} exited with code {self.proc.returncode}; restarting it in {delay} s")
        elif now >= self.restart_at:
            proc = self._start()
            if proc is None:  # something else took its place (another embedded Redis on the socket)
                self.restart_at = now + RESTART_DELAYS[-1]
                return
            self.proc, self.started, self.restart_at = proc, now, None
            say(f"{self.name} restarted")


def stop_all(supervised: list[Supervised]) -> None:
    procs = [(s.name, s.proc) for s in supervised]
    for _, proc in reversed(procs):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for name, proc in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in time; killing it")
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def secret_key() -> str:
    """The embedded defaults' SECRET_KEY: generated once into .run/, readable only by its owner, then reused
    (so logins survive a restart)."""
    path = RUN_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
        say(f"generated a SECRET_KEY into {path}")
    return path.read_text().strip()


def wait_ready(supervised: list[Supervised], timeout: float = 90) -> None:
    """Until /healthz answers 200 (daphne up, a worker answering); a 503 meanwhile is the wait, not an error."""
    url = f"http://{'127.0.0.1' if HOST in {'0.0.0.0', ''} else HOST}:{PORT}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in supervised:
            process.check()
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:  # refused while daphne starts; HTTP 503 until the worker answers
            time.sleep(0.5)
    say(f"not ready after {timeout:.0f} s; see {url}")


def main() -> int:
    RUN_DIR.mkdir(exist_ok=True)
    env = dict(os.environ)
    if not env.get("SECRET_KEY") and not env.get("SECRET_KEY_FILE"):
        env["SECRET_KEY"] = secret_key()
    env.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")  # DEBUG stays off unless DEBUG=true is set
    supervised: list[Supervised] = []
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not env.get("REDIS_URL"):
            from collab import embedded_redis

            sock = RUN_DIR / "redis.sock"
            proc = embedded_redis.start(sock)
            if proc is None:
                say(f"reusing the embedded Redis already answering on {sock}")
            else:
                supervised.append(Supervised("redis", lambda: embedded_redis.start(sock), proc))
                say(f"embedded Redis {embedded_redis.binary().parent.name}/redis-server on {sock}")
            env["REDIS_URL"] = f"unix://{sock}"
        manage("collab_check", env=env)
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("load_demo", env=env)
        supervised.append(Supervised("worker", lambda: subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "collab", "worker", "--pool", "threads",
             "--concurrency", env.get("COLLAB_WORKER_THREADS", "32"), "--loglevel", "WARNING",
             "--hostname", f"collab-worker-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
            env=env, cwd=BASE_DIR, start_new_session=True)))
        supervised.append(Supervised("daphne", lambda: subprocess.Popen(
            [PYTHON, "-m", "daphne", "-b", HOST, "-p", PORT, "collab.asgi:application"],
            env=env, cwd=BASE_DIR, start_new_session=True)))
        wait_ready(supervised)
        say(f"open http://{HOST}:{PORT}/  (health: http://{HOST}:{PORT}/healthz)  Ctrl-C stops everything")
        while True:
            for process in supervised:
                process.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_all(supervised)
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
