"""Real processes for tests: a Celery worker and daphne, pointed at the test
database and the test Redis."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = log_dir / f"{name}-{int(time.time() * 1000)}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)
            self.popen.wait(15)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")


def start_worker(name: str = "w1", concurrency: int = 16, **env: str) -> Proc:
    from collab.core.health import count_workers

    proc = Proc(
        f"worker-{name}",
        [sys.executable, "-m", "celery", "-A", "collab", "worker", "--pool", "threads",
         "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}@%h",
         "--without-gossip", "--without-mingle"],
        child_env(**env), ROOT / "tests" / "artifacts" / "logs",
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"worker exited:\n{proc.output()[-3000:]}")
        if any(n.startswith(f"{name}-{os.getpid()}@") for n in count_workers(timeout=0.5).get("names", [])):
            return proc
        time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"worker did not answer a ping:\n{proc.output()[-3000:]}")


def start_daphne(**env: str) -> tuple[Proc, str]:
    import urllib.request

    port = free_port()
    proc = Proc("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                           "collab.asgi:application"], child_env(**env), ROOT / "tests" / "artifacts" / "logs")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"daphne exited:\n{proc.output()[-3000:]}")
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.stop()
    raise RuntimeError("daphne did not answer")
