"""The engine owns the turn's task: no import circle ties `sessions` and the
engine, and a turn queued under the task's old name still runs."""

import ast
from pathlib import Path

import pytest

from collab import celery as celery_app
from collab.sessions.models import Session
from tests.engine_helpers import assert_gapless, make_team, message_turns, wait_for

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "collab"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every import of a collab module by a collab module, deferred ones (inside functions) included."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("module", ["collab.engine.runner", "collab.engine.status", "collab.engine.sweeper",
                                    "collab.engine.tasks"])
def test_the_turn_loop_modules_are_in_no_import_circle(module):
    graph = import_graph()
    assert module not in reachable(graph, module), f"{module} imports itself back through {sorted(graph[module])}"


def test_sessions_has_no_celery_task_of_the_engine():
    assert not (PACKAGE / "sessions" / "tasks.py").exists()
    for path in (PACKAGE / "sessions").rglob("*.py"):
        assert "sessions.tasks" not in path.read_text(), path


@pytest.mark.django_db(transaction=True)
def test_a_turn_queued_under_the_old_task_name_runs_on_the_worker(owner, worker):
    """Messages queued before the task moved carry its old name: the worker still runs them."""
    from django.db import transaction

    from collab.engine import status
    from collab.sessions import events as log
    from collab.sessions import services

    session = services.session_create(owner=owner, team=make_team(owner), protocol_params={"rounds": 1})
    with transaction.atomic():
        status.change(log.lock_session(session.pk), Session.Status.RUNNING, actor="system", reason="started")
    celery_app.app.send_task("collab.sessions.tasks.run_turn", args=[session.pk, 0])
    session = wait_for(session)
    assert session.status == "finished"
    assert [a for _, a in message_turns(session)] == ["analyst", "coder", "tester"]
    assert_gapless(session)
