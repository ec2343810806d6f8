"""Loaded with `-p tests.bootstrap` before Django's settings are read.

With REDIS_URL unset the suite runs on an embedded Redis of its own (a unix
socket under .run/, separate from `make run`'s), so the same tests pass on
the embedded defaults and on the machine's PostgreSQL and Redis.
"""

import os
import signal
from pathlib import Path

import redis

from collab import embedded_redis, redis_urls

ROOT = Path(__file__).resolve().parent.parent
_started = None

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")
# DEBUG is off in the tests, as in production, so a key is required; the tests' own.
os.environ.setdefault("SECRET_KEY", "collab-tests-only-secret-key-not-for-any-real-deployment-0123")
# Short leases and sweeps so recovery tests take seconds, not a minute.
os.environ.setdefault("COLLAB_TURN_LEASE_SECONDS", "4")
os.environ.setdefault("COLLAB_SWEEP_INTERVAL", "1")
os.environ.setdefault("COLLAB_SCRIPTED_TPS", "400")
os.environ.setdefault("COLLAB_LLM_RETRY_BASE_DELAY", "0.01")

if not os.environ.get("REDIS_URL"):
    _sock = ROOT / ".run" / f"test-redis-{os.getpid()}.sock"  # one per run: runs never share a broker
    _started = embedded_redis.start(_sock)
    os.environ["REDIS_URL"] = f"unix://{_sock}"

# A clean broker, channel layer and control DB: no stale task of an earlier
# run may reach this run's worker.
_url = os.environ["REDIS_URL"]
_, _db = redis_urls.parse(_url)
for offset in range(3):
    client = redis.Redis.from_url(redis_urls.with_db(_url, _db + offset))
    client.flushdb()
    client.close()


def pytest_unconfigure(config):
    if _started is not None and _started.poll() is None:
        os.killpg(_started.pid, signal.SIGTERM)
        _started.wait(10)
        _sock.unlink(missing_ok=True)
