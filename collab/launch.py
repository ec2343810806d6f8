"""`make run`: the whole app on one machine with embedded defaults.

Starts an embedded Redis (when REDIS_URL is unset), checks the settings,
migrates, loads demo data, then runs daphne and a Celery worker until
Ctrl-C, and stops every process it started.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
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


def stop_all(procs: list[tuple[str, subprocess.Popen]]) -> None:
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


def wait_ready(procs: list[tuple[str, subprocess.Popen]], timeout: float = 90) -> None:
    """Until /healthz answers 200 (daphne up, a worker answering); a 503 meanwhile is the wait, not an error."""
    url = f"http://{'127.0.0.1' if HOST in {'0.0.0.0', ''} else HOST}:{PORT}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(proc.poll() is None for _, proc in procs):
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:  # refused while daphne starts; HTTP 503 until the worker answers
            time.sleep(0.5)
    if all(proc.poll() is None for _, proc in procs):
        say(f"not ready after {timeout:.0f} s; see {url}")


def main() -> int:
    RUN_DIR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")  # DEBUG stays off unless DEBUG=true is set
    procs: list[tuple[str, subprocess.Popen]] = []
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
                procs.append(("redis", proc))
                say(f"embedded Redis {embedded_redis.binary().parent.name}/redis-server on {sock}")
            env["REDIS_URL"] = f"unix://{sock}"
        manage("collab_check", env=env)
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("load_demo", env=env)
        procs.append(("worker", subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "collab", "worker", "--pool", "threads",
             "--concurrency", env.get("COLLAB_WORKER_THREADS", "32"), "--loglevel", "WARNING",
             "--hostname", f"collab-worker-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
            env=env, cwd=BASE_DIR, start_new_session=True)))
        procs.append(("daphne", subprocess.Popen(
            [PYTHON, "-m", "daphne", "-b", HOST, "-p", PORT, "collab.asgi:application"],
            env=env, cwd=BASE_DIR, start_new_session=True)))
        wait_ready(procs)
        say(f"open http://{HOST}:{PORT}/  (health: http://{HOST}:{PORT}/healthz)  Ctrl-C stops everything")
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    say(f"{name} exited with code {proc.returncode}; stopping")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_all(procs)
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
