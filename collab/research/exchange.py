"""Transcripts out and in: the `collab.transcript` JSONL schema (version 1),
CSV, and the import validator.

A file is one JSON object per line and holds one or more sessions, each a
section: its header line, then one line per event in seq order, then (when
asked) one line per annotation and one per review (a coder's note, or
"reviewed, no label applies"). Lines are written with sorted keys and no
spaces, so export -> import -> export is byte-for-byte the same. An import is
read and validated whole, every section, before anything is written; the
first problem is refused with its line number. CSV has one header row and a
`session` column, whatever the number of sessions. Secrets never leave:
model profiles are reduced to provider, model name and sampling parameters
(no base URL, no key variable), and share tokens and leases are not exported.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings

from collab.sessions import selectors
from collab.sessions.models import Event, Session

SCHEMA = "collab.transcript"
SCHEMA_VERSION = 1
EVENT_KINDS = frozenset(Event.Kind.values)
PROFILE_FIELDS = ("name", "provider", "model", "temperature", "max_tokens")
ROLE_FIELDS = {"name": str, "persona": str, "goals": str, "expertise": str, "traits": list, "color": str,
               "avatar": str, "temperature": (int, float), "strength": int, "model": (dict, type(None))}
# The payload fields the pages, replay, coding and search read, by event kind
# (field: accepted types); `text` is read for every kind. Other fields pass as they are.
TEXT = {"text": str}
PAYLOAD_FIELDS = {
    "message": {"phase": (str, type(None)), "human": (str, type(None))},
    "vote": {"vote": (str, int, float, type(None)), "reason": (str, type(None))},
    "action": {"action": (dict, type(None))},
    "plan": {"plan": dict, "diff": list, "why": (str, type(None))},
    "tally": {"tally": dict},
    "scenario_state": {"report": dict, "metrics": dict, "title": str},
    "state": {"status": str, "reason": (str, type(None))},
    "observation": {"role": str},
}
PLAN_STEP = {"text": str, "status": (str, type(None))}
CSV_COLUMNS = ["session", "seq", "created_at", "kind", "actor", "audience", "turn_index", "text", "payload"]
CSV_ANNOTATION_COLUMNS = ["labels", "gold", "no_label", "notes", "annotations"]
FILE_LINE_TYPES = ("annotation", "review")  # written with --annotations; kept by the file, not imported


class ImportRefused(Exception):
    """The file was not imported; the message names the line and the problem."""


def collab_version() -> str:
    try:
        return version("collab")
    except PackageNotFoundError:
        return "unknown"


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _role(role: dict) -> dict:
    profile = role.get("model_profile") or role.get("model")
    out = {k: role[k] for k in ROLE_FIELDS if k in role and k != "model"}
    out["model"] = {k: profile.get(k) for k in PROFILE_FIELDS} if profile else None
    return out


def header(session: Session) -> dict:
    imported = (session.state or {}).get("imported")
    if imported:  # an imported session re-exports the header it came with
        return {**imported["header"], "collab_version": collab_version()}
    snapshot = session.team_snapshot or {}
    roles = [_role(r) for r in snapshot.get("roles", [])]
    return {
        "type": "header", "schema": SCHEMA, "version": SCHEMA_VERSION, "collab_version": collab_version(),
        "session": {
            "id": session.pk, "title": session.title, "brief": session.brief, "status": session.status,
            "end_reason": session.end_reason, "created_at": _iso(session.created_at),
            "started_at": _iso(session.started_at), "finished_at": _iso(session.finished_at),
        },
        "team": {"name": snapshot.get("name", ""), "description": snapshot.get("description", ""),
                 "preset": snapshot.get("preset", ""), "roles": roles},
        "protocol": {"name": session.protocol, "params": session.protocol_params},
        "topology": {"name": session.topology, "params": session.topology_params},
        "scenario": {"name": session.scenario, "params": session.scenario_params} if session.scenario else None,
        "provider": session.provider,
        "models": sorted({r["model"]["model"] or r["model"]["provider"] for r in roles if r["model"]}),
        "seed": session.seed, "max_turns": session.max_turns,
    }


def event_line(event: Event) -> dict:
    return {"type": "event", "seq": event.seq, "kind": event.kind, "actor": event.actor,
            "audience": event.audience, "turn_index": event.turn_index, "created_at": _iso(event.created_at),
            "payload": event.payload}


def export_jsonl(session: Session, lines: Iterable[dict] = ()) -> Iterator[str]:
    """One session's section: header, events, then `lines` (annotation and review lines, each with its type)."""
    yield dumps(header(session)) + "\n"
    for event in selectors.events_iter(session.pk):
        yield dumps(event_line(event)) + "\n"
    for line in lines:
        yield dumps(line) + "\n"


def export_csv(sessions: Iterable[Session],
               annotation_cells: Callable[[Session], dict[int, list[str]]] | None = None) -> Iterator[str]:
    """One header row, then one row per event of each session in turn. With
    `annotation_cells` (a session -> {seq: the CSV_ANNOTATION_COLUMNS cells}),
    those columns too."""
    columns = CSV_COLUMNS + (CSV_ANNOTATION_COLUMNS if annotation_cells else [])
    blank = [""] * len(CSV_ANNOTATION_COLUMNS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(columns)
    yield flush()
    for session in sessions:
        cells = annotation_cells(session) if annotation_cells else None
        for event in selectors.events_iter(session.pk):
            row = [session.pk, event.seq, _iso(event.created_at), event.kind, event.actor,
                   ";".join(event.audience or []), "" if event.turn_index is None else event.turn_index,
                   (event.payload or {}).get("text", ""), dumps(event.payload)]
            if cells is not None:
                row += cells.get(event.seq, blank)
            writer.writerow(row)
            yield flush()


# -- import ------------------------------------------------------------------

def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", float: "a number", dict: "an object", list: "a list",
             bool: "true or false", type(None): "null"}
    return " or ".join(names[k] for k in kinds)


def _check(obj: dict, field: str, kind, where: str, *, required: bool = True):
    if field not in obj:
        if required:
            raise ImportRefused(f"{where}: missing field {field!r}")
        return None
    value = obj[field]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ImportRefused(f"{where}: field {field!r} must be {_type_name(kind)}, not {type(value).__name__}")
    return value


def _date(obj: dict, field: str, where: str, *, required: bool = False) -> str | None:
    value = _check(obj, field, (str, type(None)), where, required=required)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ImportRefused(f"{where}: field {field!r} is not an ISO 8601 date ({value[:40]!r})") from None
    if parsed.tzinfo is None:
        raise ImportRefused(f"{where}: field {field!r} needs a time zone ({value[:40]!r})")
    return parsed.astimezone(UTC).isoformat()


def _header(obj: dict, number: int) -> dict:
    where = f"line {number} (header)"
    if obj.get("type") != "header":
        raise ImportRefused(f"{where}: the first line must be the header ({{\"type\": \"header\", ...}})")
    if obj.get("schema") != SCHEMA:
        raise ImportRefused(f"{where}: schema must be {SCHEMA!r}, not {obj.get('schema')!r}")
    file_version = _check(obj, "version", int, where)
    if file_version != SCHEMA_VERSION:
        raise ImportRefused(f"{where}: schema version {file_version} is not supported (this collab reads {SCHEMA_VERSION})")
    session = _check(obj, "session", dict, where)
    w = f"{where} session"
    out_session = {
        "id": _check(session, "id", (int, str, type(None)), w, required=False),
        "title": _check(session, "title", str, w).strip()[:200] or "Imported transcript",
        "brief": _check(session, "brief", str, w, required=False) or "",
        "status": _check(session, "status", str, w, required=False) or "finished",
        "end_reason": (_check(session, "end_reason", str, w, required=False) or "")[:200],
        "created_at": _date(session, "created_at", w), "started_at": _date(session, "started_at", w),
        "finished_at": _date(session, "finished_at", w),
    }
    team = _check(obj, "team", dict, where, required=False) or {}
    roles = []
    for i, role in enumerate(_check(team, "roles", list, f"{where} team", required=False) or []):
        w = f"{where} team role {i + 1}"
        if not isinstance(role, dict):
            raise ImportRefused(f"{w}: must be an object")
        _check(role, "name", str, w)
        for field, kind in ROLE_FIELDS.items():
            _check(role, field, kind, w, required=False)
        if role.get("model") is not None:
            for field in PROFILE_FIELDS:
                _check(role["model"], field, (str, int, float, type(None)), f"{w} model", required=False)
        roles.append(_role(role))
    names = [r["name"] for r in roles]
    if len(set(names)) != len(names):
        raise ImportRefused(f"{where}: two roles share a name")
    parts = {}
    for part, default in (("protocol", "round_robin"), ("topology", "everyone")):
        value = _check(obj, part, dict, where, required=False) or {}
        parts[part] = {"name": _check(value, "name", str, f"{where} {part}", required=False) or default,
                       "params": _check(value, "params", dict, f"{where} {part}", required=False) or {}}
    scenario = _check(obj, "scenario", (dict, type(None)), where, required=False)
    if scenario is not None:
        scenario = {"name": _check(scenario, "name", str, f"{where} scenario"),
                    "params": _check(scenario, "params", dict, f"{where} scenario", required=False) or {}}
    models = _check(obj, "models", list, where, required=False) or []
    if not all(isinstance(m, str) for m in models):
        raise ImportRefused(f"{where}: field 'models' must be a list of strings")
    return {
        "type": "header", "schema": SCHEMA, "version": SCHEMA_VERSION, "session": out_session,
        "team": {"name": _check(team, "name", str, f"{where} team", required=False) or "",
                 "description": _check(team, "description", str, f"{where} team", required=False) or "",
                 "preset": _check(team, "preset", str, f"{where} team", required=False) or "", "roles": roles},
        "protocol": parts["protocol"], "topology": parts["topology"], "scenario": scenario,
        "provider": _check(obj, "provider", str, where, required=False) or "scripted", "models": models,
        "seed": _check(obj, "seed", int, where, required=False) or 0,
        "max_turns": _check(obj, "max_turns", int, where, required=False) or 0,
    }


def _payload(kind: str, payload: dict, where: str) -> dict:
    w = f"{where} payload"
    for field, types in {**TEXT, **PAYLOAD_FIELDS.get(kind, {})}.items():
        _check(payload, field, types, w, required=False)
    if kind == "plan":
        plan = payload.get("plan") or {}
        _check(plan, "version", int, f"{w} plan", required=False)
        for i, step in enumerate(_check(plan, "steps", list, f"{w} plan", required=False) or [], start=1):
            if not isinstance(step, dict):
                raise ImportRefused(f"{w} plan step {i}: must be an object")
            for field, types in PLAN_STEP.items():
                _check(step, field, types, f"{w} plan step {i}", required=False)
        for i, change in enumerate(payload.get("diff") or [], start=1):
            if not isinstance(change, dict):
                raise ImportRefused(f"{w} diff {i}: must be an object")
            _check(change, "op", str, f"{w} diff {i}")
            _check(change, "index", int, f"{w} diff {i}")
            for side in ("before", "after"):
                if _check(change, side, dict, f"{w} diff {i}", required=False):
                    for field, types in PLAN_STEP.items():
                        _check(change[side], field, types, f"{w} diff {i} {side}", required=False)
    return payload


def _event(obj: dict, where: str) -> dict:
    kind = _check(obj, "kind", str, where)
    if kind not in EVENT_KINDS:
        raise ImportRefused(f"{where}: unknown event kind {kind[:40]!r} (known: {', '.join(sorted(EVENT_KINDS))})")
    actor = _check(obj, "actor", str, where)
    if not actor.strip() or len(actor) > 80:
        raise ImportRefused(f"{where}: field 'actor' must be 1 to 80 characters")
    audience = _check(obj, "audience", (list, type(None)), where, required=False)
    if audience is not None and not all(isinstance(a, str) for a in audience):
        raise ImportRefused(f"{where}: field 'audience' must be null or a list of role names")
    return {"seq": obj["seq"], "kind": kind, "actor": actor, "audience": audience,
            "turn_index": _check(obj, "turn_index", (int, type(None)), where, required=False),
            "created_at": _date(obj, "created_at", where),
            "payload": _payload(kind, _check(obj, "payload", dict, where), where)}


def _lines(data: bytes) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if len(raw) > settings.COLLAB_IMPORT_MAX_LINE_BYTES:
            raise ImportRefused(f"line {number}: the line is {len(raw):,} bytes; "
                                f"at most {settings.COLLAB_IMPORT_MAX_LINE_BYTES:,} are allowed")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRefused(f"line {number}: not UTF-8 text") from None
        if "\x00" in text or "\\u0000" in text:
            raise ImportRefused(f"line {number}: contains a NUL character")
        if text.strip():
            yield number, text


def parse(data: bytes) -> list[tuple[dict, list[dict], int]]:
    """Validate a whole file of one or more sessions. Each starts with its
    header line, then its events (seq 1..N, no gap, no duplicate), then its
    annotation and review lines (kept by the file, not imported). Returns,
    per session, the normalised header, the events and the count of those
    lines."""
    if len(data) > settings.COLLAB_IMPORT_MAX_BYTES:
        raise ImportRefused(f"the file is over {settings.COLLAB_IMPORT_MAX_BYTES / 1e6:,.0f} MB, "
                            "the most that can be imported")
    sections: list[tuple[dict, list[dict], int]] = []
    head, events, extra, head_line, seen = None, [], 0, 0, set()

    def close() -> None:
        if head is not None:
            if not events:
                raise ImportRefused(f"line {head_line} (header): the session that starts here has no events"
                                    if sections else "the file has a header but no events")
            sections.append((head, events, extra))

    for number, text in _lines(data):
        where = f"line {number}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise ImportRefused(f"{where}: each line must be a JSON object")
        if head is None or obj.get("type") == "header":
            if head is None and number != 1:
                raise ImportRefused(f"{where}: the header must be on line 1")
            close()
            head, events, extra, head_line, seen = _header(obj, number), [], 0, number, set()
            continue
        line_type = obj.get("type")
        if line_type in FILE_LINE_TYPES:
            extra += 1
            continue
        if line_type != "event":
            raise ImportRefused(f"{where}: unknown line type {str(line_type)[:40]!r} "
                                "(expected 'header', 'event', 'annotation' or 'review')")
        if extra:
            raise ImportRefused(f"{where}: a session's events must come before its annotation and review lines")
        seq = _check(obj, "seq", int, where)
        expected = len(events) + 1
        if seq in seen:
            raise ImportRefused(f"{where}: duplicate seq {seq}")
        if seq != expected:
            raise ImportRefused(f"{where}: seq {seq} out of order; expected {expected} "
                                f"(seq {expected} is missing)" if seq > expected else f"{where}: seq {seq} out of order")
        seen.add(seq)
        events.append(_event(obj, where))
    if head is None:
        raise ImportRefused("line 1: the file is empty; expected a header line")
    close()
    return sections


def read_upload(stream, limit: int | None = None) -> bytes:
    """Read at most the import limit (plus one byte to notice an oversized file)."""
    limit = limit or settings.COLLAB_IMPORT_MAX_BYTES
    return stream.read(limit + 1)
