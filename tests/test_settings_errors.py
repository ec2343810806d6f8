"""A bad or unreachable setting stops the process with one line naming it."""

import subprocess
import sys

from tests.procs import ROOT


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=60)


def assert_one_clear_line(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_database_url():
    assert_one_clear_line(run_manage("check", DATABASE_URL="nonsense://x"), "DATABASE_URL")


def test_malformed_redis_url():
    assert_one_clear_line(run_manage("check", REDIS_URL="http://127.0.0.1:6379"), "REDIS_URL")


def test_bad_boolean():
    assert_one_clear_line(run_manage("check", DEBUG="maybe"), "DEBUG")


def test_unreachable_database():
    result = run_manage("collab_check", DATABASE_URL="postgres://postgres@127.0.0.1:1/nope",
                        REDIS_URL="redis://127.0.0.1:1/0")
    assert_one_clear_line(result, "DATABASE_URL")


def test_unreachable_redis(tmp_path):
    result = run_manage("collab_check", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3", REDIS_URL="redis://127.0.0.1:1/0")
    assert_one_clear_line(result, "REDIS_URL")


def test_no_secret_key_with_debug_off_refuses_to_start():
    """No public fallback key in production: one line naming the variable, and nothing starts."""
    result = run_manage("check", SECRET_KEY="", DEBUG="false")
    assert_one_clear_line(result, "SECRET_KEY")
    assert "make run" in result.stderr  # says how to get one


def test_the_development_key_is_for_debug_only():
    result = run_manage("check", SECRET_KEY="", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_compose_requires_a_secret_key_and_makes_no_demo_account_unless_asked():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "SECRET_KEY: ${SECRET_KEY:?" in compose and "change-me" not in compose
    assert 'if [ \\"$$COLLAB_DEMO\\" = 1 ]; then python manage.py load_demo; fi' in compose
    assert compose.count("load_demo") == 1
