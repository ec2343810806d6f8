"""Probes for /healthz and for the start-up check of `make run`. /healthz
answers everyone with component states only (`public`); staff get the details."""

import time

import redis
from django.conf import settings
from django.db import connection


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:
        return {"ok": False, "error": _one_line(exc)}


def check_redis(url: str) -> dict:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": _one_line(exc)}


def count_workers(timeout: float = 1.0) -> dict:
    from collab.celery import app

    try:
        replies = app.control.ping(timeout=timeout) or []
        names = sorted(name for reply in replies for name in reply)
        return {"ok": bool(names), "count": len(names), "names": names}
    except Exception as exc:
        return {"ok": False, "count": 0, "error": _one_line(exc)}


def report() -> tuple[bool, dict]:
    checks = {
        "database": check_database(),
        "redis": {
            "channel_layer": check_redis(settings.CHANNEL_REDIS_URL),
            "broker": check_redis(settings.CELERY_BROKER_URL.replace("redis+socket://", "unix://").replace(
                "?virtual_host=", "?db=")),
        },
    }
    redis_ok = all(part["ok"] for part in checks["redis"].values())
    checks["redis"]["ok"] = redis_ok
    checks["workers"] = count_workers() if redis_ok else {"ok": False, "count": 0, "error": "broker down"}
    if settings.LLM_CONFIGURED:  # informative: a model server that is down pauses sessions, the app still serves
        from collab.llm import server

        checks["model_server"] = server.health_state()
    healthy = checks["database"]["ok"] and redis_ok and checks["workers"]["ok"]
    checks["status"] = "ok" if healthy else "degraded"
    return healthy, checks


def public(checks: dict) -> dict:
    """What anyone may see: each component up or down. Worker names, errors,
    timings and the database vendor describe the deployment: staff only."""
    answer = {"status": checks["status"],
              **{part: "ok" if checks[part]["ok"] else "down" for part in ("database", "redis", "workers")}}
    if "model_server" in checks:  # None until the background check has answered
        answer["model_server"] = {True: "ok", False: "down", None: "unknown"}[checks["model_server"]["ok"]]
    return answer


def summary(checks: dict) -> str:
    """What is not ok, in one line: 'no worker answers' or 'redis broker: ConnectionError: ...'."""
    problems = []
    if not checks["database"]["ok"]:
        problems.append(f"database: {checks['database'].get('error', 'down')}")
    for part in ("channel_layer", "broker"):
        if not checks["redis"][part]["ok"]:
            problems.append(f"redis {part.replace('_', ' ')}: {checks['redis'][part].get('error', 'down')}")
    if not problems and not checks["workers"]["ok"]:
        problems.append("no worker answers yet")
    return "; ".join(problems) or "ok"


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip(": ")
