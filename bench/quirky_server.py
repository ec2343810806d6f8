"""Defaulted replies per preset against a quirky model server.

Every preset runs inline (runner.run_inline, as `collab_run --inline`) on
SQLite and an embedded Redis of its own, on the default model server: the
fake OpenAI server configured like llama.cpp's server on one slot. It
generates one request at a time and a new request interrupts the stream in
flight (`[DONE]` with no finish reason), sends no usage chunk, and answers a
request that carries a JSON schema with an object that fits it, as a model
that follows the schema would. So every defaulted reply is the client's
doing: a cut-off stream taken for a reply, or a call that overlapped.

    .venv/bin/python bench/quirky_server.py                  # every preset, 30 turns each
    .venv/bin/python bench/quirky_server.py --concurrency 1  # with COLLAB_LLM_MAX_CONCURRENCY=1

Prints per preset: model replies, defaulted replies (a structured reply
replaced by the default, or a text reply recorded as "(no reply)"), their
share, streams the server cut short, and how the session ended.
"""

import argparse
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / ".out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="", help="comma-separated preset keys (default: all)")
    parser.add_argument("--max-turns", type=int, default=30, help="turn cap per preset")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="COLLAB_LLM_MAX_CONCURRENCY for the default server (default: unset)")
    parser.add_argument("--chunk-delay", type=float, default=0.005, help="seconds between streamed chunks")
    args = parser.parse_args()

    from collab import embedded_redis

    OUT.mkdir(parents=True, exist_ok=True)
    sock = OUT / f"quirky-redis-{os.getpid()}.sock"
    database = OUT / "quirky.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    redis_proc = embedded_redis.start(sock)
    try:
        run(args, sock, database)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        sock.unlink(missing_ok=True)


def run(args, sock: Path, database: Path) -> None:
    from collab.llm.fake_server import FakeServerConfig, run_in_thread

    config = FakeServerConfig(slots=1, interrupt=True, send_usage=False, follow_schema=True,
                              chunk_delay=args.chunk_delay, chunk_by="word",
                              reply="I agree with the plan and will do my part this round.")
    with run_in_thread(config) as server:
        os.environ.update({
            "DJANGO_SETTINGS_MODULE": "collab.settings", "DATABASE_URL": f"sqlite:///{database}",
            "REDIS_URL": f"unix://{sock}", "OPENAI_BASE_URL": server.base_url, "OPENAI_MODEL": "fake-model",
            "COLLAB_LLM_RETRY_BASE_DELAY": "0.05", "LOG_LEVEL": "ERROR",
        })
        if args.concurrency is not None:
            os.environ["COLLAB_LLM_MAX_CONCURRENCY"] = str(args.concurrency)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        from django.contrib.auth.models import User

        from collab.engine import runner
        from collab.sessions import services
        from collab.sessions.models import Event, LLMCall
        from collab.teams.presets import PRESETS
        from collab.teams.services import team_create_from_preset

        owner, _ = User.objects.get_or_create(username="bench")
        keys = [k for k in args.presets.split(",") if k] or list(PRESETS)
        print(f"quirky fake server: 1 slot, interrupting, no usage chunk; "
              f"COLLAB_LLM_MAX_CONCURRENCY={args.concurrency if args.concurrency is not None else 'unset'}; "
              f"max {args.max_turns} turns per preset\n")
        print(f"{'preset':<26} {'replies':>7} {'defaulted':>9} {'share':>6} {'cut':>5} {'calls':>5} "
              f"{'secs':>6}  end")
        total_replies = total_defaulted = 0
        for key in keys:
            preset = PRESETS[key]
            team = team_create_from_preset(preset_key=key, owner=owner)
            session = services.session_create(
                owner=owner, team=team, brief=preset.brief, protocol=preset.protocol,
                protocol_params=preset.protocol_params, topology=preset.topology,
                topology_params=preset.topology_params, provider="openai",
                max_turns=min(args.max_turns, preset.max_turns), seed=0)
            cut_before = server.interrupted
            started = time.monotonic()
            with runner.inline():
                services.session_start(session=session, user=owner)
                session = runner.run_inline(session.pk, max_turns=args.max_turns + 5)
            seconds = time.monotonic() - started
            calls = LLMCall.objects.filter(session=session)
            replies = calls.exclude(purpose__endswith=":retry").count()
            notices = Event.objects.filter(session=session, kind="turn_error")
            defaulted = (notices.filter(payload__has_key="default").count()
                         + Event.objects.filter(session=session, kind="message", payload__text="(no reply)").count())
            total_replies += replies
            total_defaulted += defaulted
            share = f"{100 * defaulted / replies:.0f}%" if replies else "-"
            pause = notices.filter(payload__has_key="cause").last() if session.status == "paused" else None
            end = f"{session.status}: {pause.payload['cause'] if pause else session.end_reason}"[:90]
            print(f"{key:<26} {replies:>7} {defaulted:>9} {share:>6} {server.interrupted - cut_before:>5} "
                  f"{calls.count():>5} {seconds:>6.1f}  {end}", flush=True)
        share = f"{100 * total_defaulted / total_replies:.1f}%" if total_replies else "-"
        print(f"\nall presets: {total_defaulted} of {total_replies} replies defaulted ({share}); "
              f"{server.interrupted} streams cut short by the server; most concurrent requests "
              f"{server.most_concurrent}")


if __name__ == "__main__":
    main()
