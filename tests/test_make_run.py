"""`make run` brings the whole app up on embedded defaults, with DEBUG off
and static files served, restarts a part that dies, and Ctrl-C (SIGINT)
leaves no daphne, celery or redis process behind."""

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request

import psutil

from tests.procs import ROOT, free_port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_make_run_serves_and_sigint_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "DATABASE_URL", "SECRET_KEY", "DEBUG", "MAKEFLAGS", "MFLAGS"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/run.sqlite3", COLLAB_PORT=str(port))
    log = open(tmp_path / "make-run.log", "wb")  # noqa: SIM115 - closed below
    make = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            try:
                status, body = get(f"{base}/healthz")
                health = json.loads(body)
                if status == 200:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert health and health["status"] == "ok", output
        # No SECRET_KEY given: one was generated into .run/ (or an earlier run's reused), for its owner only.
        key_file = ROOT / ".run" / "secret_key"
        assert len(key_file.read_text().strip()) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
        assert health["workers"] == "ok"
        assert "username 'demo'" in output
        status, body = get(f"{base}/accounts/login/")
        assert status == 200 and b'name="username"' in body

        # DEBUG is off by default: a stranger's 404 is the app's page, not Django's list of every URL;
        # static files are still served.
        status, body = get(f"{base}/no-such-page/")
        assert status == 404 and b"Not found" in body and b"URLconf" not in body and b"urlpatterns" not in body
        status, body = get(f"{base}/static/css/collab.css")
        assert status == 200 and b".notice-scripted" in body
        # Polling /healthz while the worker starts (as above) is a readiness wait, not an error.
        output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert "ERROR" not in output and "Service Unavailable" not in output, output
        # The launcher says where to open once its own health poll answers, which may come a moment
        # after this test's poll did.
        deadline = time.monotonic() + 30
        while "collab: open http://" not in output and time.monotonic() < deadline:
            time.sleep(0.2)
            output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert output.index("collab: open http://") > output.index("username 'demo'")
        # A dead worker is started again; the app keeps serving meanwhile.
        worker = next(p for p in psutil.Process(make.pid).children(recursive=True) if "celery" in " ".join(p.cmdline()))
        os.killpg(worker.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "worker restarted" not in (tmp_path / "make-run.log").read_text():
            assert get(f"{base}/accounts/login/")[0] == 200
            time.sleep(0.5)
        output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert "worker exited with code -9; restarting it in 1 s" in output and "worker restarted" in output, output

        children = psutil.Process(make.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in children)
        assert "daphne" in names and "celery" in names and worker.pid not in {p.pid for p in children}
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        make.wait(60)
        time.sleep(0.5)
        alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, [" ".join(p.cmdline()) for p in alive]
    finally:
        if make.poll() is None:
            # The launcher's children run in process groups of their own: a failed run must not leave them.
            try:
                children = psutil.Process(make.pid).children(recursive=True)
            except psutil.Error:
                children = []
            os.killpg(make.pid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(psutil.Error):
                    child.kill()
        log.close()
