"""A Celery worker whose turns are timed: `python bench/_worker.py worker ARGS...`.

Same as `celery -A collab worker ARGS...`, after wrapping the runner's phases
(claim, prepare, call_agents, commit) with timers that append one JSON line
per run_turn call to $BENCH_TIMINGS. Instrumentation only: no engine change.
"""

import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")

import django  # noqa: E402

django.setup()

import common  # noqa: E402

_lock = threading.Lock()
_sink = open(os.environ["BENCH_TIMINGS"], "a", buffering=1)  # noqa: SIM115 - lives as long as the worker


def _record(entry: dict) -> None:
    line = json.dumps(entry)
    with _lock:
        _sink.write(line + "\n")


common.instrument_runner(_record)

# The shared event loop's thread: its native id lets the bench split the worker's CPU
# between the loop (model streams, broadcasts) and the Celery threads.
from collab import aio  # noqa: E402


async def _native_id() -> int:
    return threading.get_native_id()


Path(os.environ["BENCH_TIMINGS"] + ".aio").write_text(str(aio.run(_native_id(), timeout=10)))

if os.environ.get("BENCH_PROFILE_AIO"):
    # cProfile on the loop's thread only (enable() applies to the calling thread).
    import cProfile

    from celery.signals import worker_shutdown

    _profile = cProfile.Profile()

    async def _enable() -> None:
        _profile.enable()

    async def _disable() -> None:
        _profile.disable()

    aio.run(_enable(), timeout=10)

    @worker_shutdown.connect(weak=False)
    def _dump(**kwargs) -> None:
        aio.run(_disable(), timeout=10)
        _profile.dump_stats(os.environ["BENCH_PROFILE_AIO"])

if os.environ.get("BENCH_YAPPI"):
    # Diagnostic: CPU profile of every thread (pip install yappi), saved as pstats to $BENCH_YAPPI.<pid>
    # when the worker shuts down. Slows the worker several times over: read it for shares, not speed.
    import yappi
    from celery.signals import worker_shutdown

    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)

    @worker_shutdown.connect(weak=False)
    def _save_yappi(**_):
        yappi.stop()
        yappi.get_func_stats().save(f"{os.environ['BENCH_YAPPI']}.{os.getpid()}", type="pstat")


if __name__ == "__main__":
    from celery.bin.celery import main

    sys.argv = ["celery", "-A", "collab", *sys.argv[1:]]
    sys.exit(main())
