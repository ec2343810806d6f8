"""Annotation projects: creating them, inviting coders (who get the
session's annotator capacity) and removing them (who lose it), adding and
removing sessions, labelling events and spans, notes, undo, reveal and
adjudication. Every write checks the caller here."""

import re
from functools import cache

from django.contrib.auth.models import User
from django.contrib.sessions.models import Session as SignIn
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Func, Subquery, TextField
from django.db.models.deletion import Collector
from django.utils import timezone

from collab.research.models import (
    Adjudication,
    Annotation,
    Codebook,
    Coder,
    CoderRun,
    Label,
    Project,
    Receipt,
    Reviewed,
)
from collab.research.permissions import allowed, coder_for
from collab.sessions import permissions as session_permissions
from collab.sessions import services as session_services
from collab.sessions.models import Event, Membership, Session

UNIT_KINDS = ("message", "action", "vote", "plan")  # the events a project codes
MAX_NOTE = 4000


class AnnotationError(ValueError):
    """Refused; the message says why. Nothing was written."""


def _text(value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise AnnotationError(f"the {what} contains a NUL character")
    if len(value) > limit:
        raise AnnotationError(f"the {what} is {len(value):,} characters; at most {limit:,}")
    return value


@transaction.atomic
def project_create(*, owner, name: str, codebook: Codebook, sessions: list[Session], instructions: str = "") -> Project:
    name = _text(name, "name", 120)
    if not name:
        raise AnnotationError("give the project a name")
    if not allowed(owner, "view", codebook):
        raise AnnotationError("that codebook is not yours to use")
    if not sessions:
        raise AnnotationError("pick at least one session")
    for session in sessions:
        if session_permissions.capacity(session, owner) != Membership.Capacity.OWNER:
            raise AnnotationError(f"you do not own session {session.pk}")
    project = Project.objects.create(owner=owner, name=name, codebook=codebook,
                                     instructions=_text(instructions, "instructions", 10000))
    project.sessions.set(sessions)
    return project


@transaction.atomic
def coder_add(*, project: Project, by, user) -> Coder:
    """A person joins as a coder (by the owner naming them, or through the
    invite link) and may then read the project's sessions, as an annotator."""
    if by.pk != project.owner_id and by.pk != user.pk:
        raise AnnotationError("only the project's owner adds coders")
    if user.pk == project.owner_id:
        raise AnnotationError("the owner adjudicates; invite someone else to code")
    coder, _ = Coder.objects.get_or_create(project=project, user=user, kind=Coder.Kind.HUMAN)
    project.__dict__.pop("_coders", None)
    _grant_annotator(project, user, project.sessions.all())
    return coder


def coder_add_by_name(*, project: Project, by, username: str) -> Coder:
    user = User.objects.filter(username=(username or "").strip()).first()
    if user is None:
        raise AnnotationError(f"no user called {username[:80]!r}")
    return coder_add(project=project, by=by, user=user)


def _grant_annotator(project: Project, user, sessions) -> None:
    for session in sessions:
        if session_permissions.capacity(session, user) is None:  # never lower someone's existing capacity
            session_services.membership_add(session=session, by=project.owner, user=user,
                                            capacity=Membership.Capacity.ANNOTATOR)


def _revoke_annotator(project: Project, user, sessions) -> int:
    """Take back the annotator capacity a project's seat gave, on sessions the
    user no longer codes in any project. Any other capacity (owner,
    participant, observer) was given for another reason and stays. Through
    membership_remove, so open sockets re-check access. Returns how many."""
    revoked = 0
    for session in sessions:
        if not Membership.objects.filter(session=session, user=user, capacity=Membership.Capacity.ANNOTATOR).exists():
            continue
        if Coder.objects.filter(user=user, kind=Coder.Kind.HUMAN, project__sessions=session).exclude(
                project=project).exists():
            continue
        session_services.membership_remove(session=session, by=project.owner, user=user)
        revoked += 1
    return revoked


def _pk(value, what: str) -> int:
    value = str(value if value is not None else "").strip()
    if "\x00" in value:
        raise AnnotationError(f"the {what} contains a NUL character")
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise AnnotationError(f"the {what} must be a number, not {value[:20]!r}")
    return int(value)


@transaction.atomic
def coder_remove(*, project: Project, by, coder_id) -> dict:
    """The owner removes a coder, or a human coder leaves. Their seat goes
    with its labels, reviewed marks and notes in this project (a model
    coder's suggestions and runs likewise), and the annotator capacity the
    seat gave is revoked where nothing else needs it. Returns the counts."""
    coder = Coder.objects.select_related("user").filter(pk=_pk(coder_id, "coder"), project=project).first()
    if coder is None:
        raise AnnotationError("that coder is not in this project")
    if by.pk != project.owner_id and not (coder.user_id and by.pk == coder.user_id):
        raise AnnotationError("only the project's owner removes coders")
    if coder.kind == Coder.Kind.MODEL and coder.runs.filter(
            status__in=[CoderRun.Status.QUEUED, CoderRun.Status.RUNNING]).exists():
        raise AnnotationError("this model coder is running; cancel its run first")
    notes = coder.reviewed.exclude(note="").count()
    user = coder.user
    _, deleted = coder.delete()  # annotations, reviewed rows, runs and their calls go with it
    project.__dict__.pop("_coders", None)
    revoked = _revoke_annotator(project, user, project.sessions.all()) if user else 0
    return {"name": coder.name, "annotations": deleted.get("research.Annotation", 0),
            "reviewed": deleted.get("research.Reviewed", 0), "notes": notes, "revoked": revoked}


def _owned_sessions(owner, ids) -> list[Session]:
    """The sessions named by id, each owned by `owner` (project_create's rule)."""
    pks = list(dict.fromkeys(_pk(i, "session") for i in ids))
    found = {s.pk: s for s in Session.objects.filter(pk__in=pks)}
    for pk in pks:
        if pk not in found:
            raise AnnotationError(f"there is no session {pk}")
        if session_permissions.capacity(found[pk], owner) != Membership.Capacity.OWNER:
            raise AnnotationError(f"you do not own session {pk}")
    return [found[pk] for pk in pks]


@transaction.atomic
def project_sessions_add(*, project: Project, by, session_ids) -> list[Session]:
    """More sessions for the project: every human coder gets the annotator
    capacity on them, as on joining."""
    if by.pk != project.owner_id:
        raise AnnotationError("only the project's owner adds sessions")
    if not session_ids:
        raise AnnotationError("pick at least one session")
    sessions = _owned_sessions(by, session_ids)
    already = set(project.sessions.filter(pk__in=[s.pk for s in sessions]).values_list("pk", flat=True))
    if already:
        raise AnnotationError(f"session {min(already)} is already in this project")
    project.sessions.add(*sessions)
    for coder in project.coders.filter(kind=Coder.Kind.HUMAN).select_related("user"):
        _grant_annotator(project, coder.user, sessions)
    return sessions


@transaction.atomic
def project_session_remove(*, project: Project, by, session_id) -> dict:
    """Take a session out of the project with the project's labels, reviewed
    marks, notes and gold decisions on it; coders lose the annotator capacity
    on it where no other project of theirs needs it. The log is untouched."""
    if by.pk != project.owner_id:
        raise AnnotationError("only the project's owner removes sessions")
    session = project.sessions.filter(pk=_pk(session_id, "session")).first()
    if session is None:
        raise AnnotationError("that session is not in this project")
    if project.sessions.count() < 2:
        raise AnnotationError("a project keeps at least one session: add another before removing this one")
    reviewed = Reviewed.objects.filter(coder__project=project, session=session)
    notes = reviewed.exclude(note="").count()
    reviewed_deleted, _ = reviewed.delete()
    annotations_deleted, _ = Annotation.objects.filter(coder__project=project, session=session).delete()
    _, gold = Adjudication.objects.filter(project=project, session=session).delete()  # with its label links
    project.sessions.remove(session)
    revoked = sum(_revoke_annotator(project, coder.user, [session])
                  for coder in project.coders.filter(kind=Coder.Kind.HUMAN).select_related("user"))
    return {"session": session, "annotations": annotations_deleted, "reviewed": reviewed_deleted, "notes": notes,
            "adjudications": gold.get("research.Adjudication", 0), "revoked": revoked}


def _event(project: Project, session_id: int, seq: int) -> Event:
    event = Event.objects.filter(session_id=session_id, session__annotation_projects=project, seq=seq,
                                 kind__in=UNIT_KINDS).first()
    if event is None:
        if not project.sessions.filter(pk=session_id).exists():
            raise AnnotationError("that session is not in this project")
        raise AnnotationError(f"no codable event #{seq} in session {session_id}")
    return event


def _label(project: Project, label_id) -> Label:
    label = Label.objects.filter(pk=label_id, codebook=project.codebook_id).first() if str(label_id).isdigit() else None
    if label is None:
        raise AnnotationError("that label is not in the project's codebook")
    if label.retired:
        raise AnnotationError(f"the label {label.name!r} is retired")
    return label


def coding_seat(project_id: int, user) -> Coder | None:
    """The user's human coder seat in the project, with the project, its
    codebook and owner, in one query: the keypress path. The project comes
    back knowing the seat, so `apply` asks nothing again."""
    seat = next(iter(Coder.objects.select_related("project__codebook", "project__owner").filter(
        project_id=project_id, user_id=user.pk, kind=Coder.Kind.HUMAN)[:1]), None)
    if seat is not None:
        seat.project.__dict__["_coders"] = {user.pk: seat}
    return seat


@cache  # built once: the tables' names do not change while the process runs
def _still_holds_sql() -> str:
    def t(model):
        return connection.ops.quote_name(model._meta.db_table)
    return (f"SELECT p.codebook_id, b.version, b.multi_label FROM {t(Coder)} c"
            f" JOIN {t(User)} u ON u.id = c.user_id JOIN {t(Project)} p ON p.id = c.project_id"
            f" JOIN {t(Codebook)} b ON b.id = p.codebook_id"
            f" WHERE c.id = %s AND c.user_id = %s AND u.is_active AND u.password = %s"
            f" AND EXISTS (SELECT 1 FROM {t(SignIn)} s WHERE s.session_key = %s AND s.expire_date > %s)")


def coding_seat_holds(seat: Coder, login: tuple[str, str]) -> bool:
    """A socket's seat (found by `coding_seat` when it opened) checked when it
    opens and again before every action. `login` is (session key, password
    hash) as they were when the socket opened: the seat holds while that
    sign-in does, as a page request would find it: not signed out or
    expired, the account active, its password unchanged since; and while the
    seat is the user's. One small query, written out because the ORM's
    compiling of it cost more than running it on a keypress. The seat's
    codebook is brought up to date (an edit bumps its version)."""
    key, password = login
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_still_holds_sql(), [seat.pk, seat.user_id, password, key, now])
        row = cursor.fetchone()
    if row is None:
        return False
    book_id, version, multi_label = row
    project = seat.project
    if project.codebook_id != book_id:
        project.codebook = Codebook.objects.get(pk=book_id)
    else:
        project.codebook.version, project.codebook.multi_label = version, bool(multi_label)
    return True


def _require_coder(project: Project, user) -> Coder:
    coder = coder_for(project, user)
    if coder is None:
        raise AnnotationError("only the project's coders annotate")
    return coder


def _reviewed(coder: Coder, session_id: int, seq: int) -> Reviewed:
    row, _ = Reviewed.objects.get_or_create(coder=coder, session_id=session_id, seq=seq)
    return row


class PayloadText(Func):
    """An event's payload text when it is a string, else NULL, in SQL: an
    imported log may hold a number or a list there (a plain key lookup would
    hand Django a number to json-decode, and on SQLite turn "42" into 42)."""

    output_field = TextField()

    def __init__(self):
        super().__init__("payload")

    def as_sql(self, compiler, connection, **extra):
        payload, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"CASE WHEN jsonb_typeof({payload} -> 'text') = 'string' THEN {payload} ->> 'text' END", params * 2
        return (f"CASE WHEN JSON_TYPE({payload}, '$.text') = 'text' THEN JSON_EXTRACT({payload}, '$.text') END",
                params * 2)


def _unit_and_label(project: Project, session_id: int, seq: int, label_id, *, text: bool) -> tuple[str, Label]:
    """The label and the codable event it goes on, checked in one query (the
    keypress path); the event's text too when a span needs it. Refusals name
    the event first, then the label, as `_event` and `_label` do."""
    if not str(label_id).isdigit():
        _event(project, session_id, seq)
        return "", _label(project, label_id)
    units = Event.objects.filter(session_id=session_id, session__annotation_projects=project, seq=seq,
                                 kind__in=UNIT_KINDS)
    extra = {"unit": Exists(units)}
    if text:
        extra["unit_text"] = Subquery(units.annotate(text=PayloadText()).values("text")[:1])
    label = Label.objects.filter(pk=label_id, codebook=project.codebook_id).annotate(**extra).first()
    if label is None or not label.unit:
        event = _event(project, session_id, seq)  # names the event's problem, if it has one
        return _event_text(event), _label(project, label_id)
    if label.retired:
        raise AnnotationError(f"the label {label.name!r} is retired")
    value = getattr(label, "unit_text", None)
    return value if isinstance(value, str) else "", label


def _event_text(event: Event) -> str:
    """An event's text; an imported log may hold a number or a list there,
    which is no text to mark a span in."""
    value = (event.payload or {}).get("text") if isinstance(event.payload, dict) else None
    return value if isinstance(value, str) else ""


def _delete(rows: list[Annotation]) -> None:
    """Delete loaded annotations: the suggestions' links, then the rows (no re-select)."""
    if rows:
        collector = Collector(using=Annotation.objects.db)
        collector.collect(rows)
        collector.delete()


@transaction.atomic(savepoint=False)  # one transaction with its caller's, no savepoint
def annotate(*, project: Project, user, session_id: int, seq: int, label_id, start=None, end=None) -> dict:
    """Label a whole event (no offsets) or a span [start, end) of its text.
    Whole-event labels toggle; in a single-label codebook a new label
    replaces the coder's others on that event. Returns what changed, so
    the page can undo it. This is the keypress path: it reads the coder's
    labels on the event once and decides here (one query each for the
    label and event, the coder's labels, the insert, and the reviewed mark)."""
    coder = _require_coder(project, user)
    span = start is not None or end is not None
    text, label = _unit_and_label(project, session_id, seq, label_id, text=span)
    quote = ""
    if span:
        if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end <= len(text):
            raise AnnotationError(f"a span must lie inside the event's text (0 to {len(text)} characters)")
        quote = text[start:end]
    mine = list(Annotation.objects.filter(coder=coder, session_id=session_id, seq=seq))
    same = [a for a in mine if a.label_id == label.pk and
            ((a.start, a.end) == (start, end) if quote else a.start is None)]
    created, removed = None, []
    if same:
        if not quote:  # pressing a label again takes it off the event
            removed = same
    else:
        if not project.codebook.multi_label:
            removed = [a for a in mine if a.label_id != label.pk]
        created = Annotation.objects.create(coder=coder, session_id=session_id, seq=seq, label=label, start=start,
                                            end=end, quote=quote, codebook_version=project.codebook.version)
    removed_rows = [annotation_dict(a) for a in removed]
    _delete(removed)
    # One INSERT ... ON CONFLICT DO NOTHING rather than get_or_create's four round trips: this is the hot path.
    Reviewed.objects.bulk_create([Reviewed(coder=coder, session_id=session_id, seq=seq)], ignore_conflicts=True)
    result = {"created": annotation_dict(created) if created else None, "removed": removed_rows}
    unverdicted = _forget_accepted(coder, removed)
    return {**result, "unverdicted": unverdicted} if unverdicted else result


def _forget_accepted(coder: Coder, removed: list[Annotation]) -> list[int]:
    """A label accepted from a model suggestion is gone again (undone,
    toggled off, replaced): the suggestion has no verdict any more, so the
    page offers it again. Returns those suggestions' ids."""
    forgotten = []
    for a in removed:
        if not a.accepted_from_id:
            continue
        row = Reviewed.objects.filter(coder=coder, session_id=a.session_id, seq=a.seq).first()
        if row and row.suggestion_verdicts.get(str(a.accepted_from_id)) == "accepted":
            del row.suggestion_verdicts[str(a.accepted_from_id)]
            row.save(update_fields=["suggestion_verdicts", "updated_at"])
            forgotten.append(a.accepted_from_id)
    return forgotten


@transaction.atomic(savepoint=False)  # one transaction with its caller's, no savepoint
def annotation_delete(*, project: Project, user, annotation_id: int) -> dict:
    coder = _require_coder(project, user)
    annotation = Annotation.objects.filter(pk=annotation_id, coder=coder).first()
    if annotation is None:
        raise AnnotationError("no such annotation of yours")
    row = annotation_dict(annotation)
    annotation.delete()
    return {"created": None, "removed": [row], "unverdicted": _forget_accepted(coder, [annotation])}


@transaction.atomic(savepoint=False)  # one transaction with its caller's, no savepoint
def mark_reviewed(*, project: Project, user, session_id: int, seq: int, note: str | None = None) -> Reviewed:
    """Moving past an event marks it reviewed (no label means none applies)."""
    coder = _require_coder(project, user)
    _event(project, session_id, seq)
    row = _reviewed(coder, session_id, seq)
    if note is not None:
        row.note = _text(note, "note", MAX_NOTE)
        row.save(update_fields=["note", "updated_at"])
    return row


def annotation_dict(a: Annotation) -> dict:
    return {"id": a.pk, "session": a.session_id, "seq": a.seq, "label": a.label_id, "start": a.start,
            "end": a.end, "quote": a.quote}


def project_reveal(*, project: Project, by, revealed: bool = True) -> Project:
    if by.pk != project.owner_id:
        raise AnnotationError("only the project's owner reveals labels")
    project.revealed = revealed
    project.save(update_fields=["revealed"])
    return project


@transaction.atomic
def adjudicate(*, project: Project, by, session_id: int, seq: int, label_ids: list) -> Adjudication:
    """The owner's decision on an event; its labels are gold in exports."""
    if by.pk != project.owner_id:
        raise AnnotationError("only the project's owner adjudicates")
    _event(project, session_id, seq)
    labels = [Label.objects.filter(pk=pk, codebook=project.codebook_id).first() for pk in label_ids]
    if any(label is None for label in labels):
        raise AnnotationError("that label is not in the project's codebook")
    if len(labels) > 1 and not project.codebook.multi_label:
        raise AnnotationError("this codebook takes one label per event")
    decision, _ = Adjudication.objects.update_or_create(
        project=project, session_id=session_id, seq=seq, defaults={"decided_by": by})
    decision.labels.set(labels)
    return decision


@transaction.atomic(savepoint=False)  # one transaction with its caller's, no savepoint
def suggestion_verdict(*, project: Project, user, suggestion_id: int, accept: bool) -> dict:
    """A human takes a model coder's suggestion (it becomes their label) or
    rejects it; either way the verdict is kept for the record, per
    suggestion (an event may carry several)."""
    coder = _require_coder(project, user)
    suggestion = Annotation.objects.filter(pk=suggestion_id, coder__project=project,
                                           coder__kind=Coder.Kind.MODEL).first()
    if suggestion is None:
        raise AnnotationError("no such suggestion in this project")
    result = {"created": None, "removed": []}
    mine = Annotation.objects.filter(coder=coder, session_id=suggestion.session_id, seq=suggestion.seq,
                                     label_id=suggestion.label_id, start__isnull=True)
    if accept and not mine.exists():
        result = annotate(project=project, user=user, session_id=suggestion.session_id, seq=suggestion.seq,
                          label_id=suggestion.label_id)
        Annotation.objects.filter(pk=result["created"]["id"]).update(accepted_from=suggestion)
    row = _reviewed(coder, suggestion.session_id, suggestion.seq)
    verdict = "accepted" if accept else "rejected"
    row.suggestion_verdicts[str(suggestion.pk)] = verdict
    row.save(update_fields=["suggestion_verdicts", "updated_at"])
    return {**result, "suggestion": suggestion.pk, "verdict": verdict}


def _int(body: dict, key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise AnnotationError(f"{key!r} must be a whole number")
    return value


def _offset(body: dict, key: str):
    return None if body.get(key) is None else _int(body, key)


RECEIPT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
RECEIPT_DAYS = 30


def apply(*, project: Project, user, action: dict) -> dict:
    """One step from the coding page: label, delete, review (with an
    optional note), undo (delete what was made, restore what was removed),
    or a verdict on a suggestion.

    An action with a `key` is applied once: sent again (its answer was
    lost on the way), it gets the answer it got the first time, from the
    receipt written in the same transaction as the action."""
    key = action.get("key")
    if key is None:
        return _apply(project=project, user=user, action=action)
    if not isinstance(key, str) or not RECEIPT_KEY.fullmatch(key):
        raise AnnotationError("'key' must be 8 to 64 letters, digits, '-' or '_'")
    coder = _require_coder(project, user)

    def first_answer():
        return next(iter(Receipt.objects.filter(coder=coder, key=key).values_list("result", flat=True)[:1]), None)

    # Applied, then receipted, in one transaction: a copy finds the receipt taken, and its
    # own changes roll back with it (no lookup first: that is one query less per keypress).
    try:
        with transaction.atomic():
            result = _apply(project=project, user=user, action=action)
            receipt = Receipt.objects.create(coder=coder, key=key, result=result)
    except (IntegrityError, AnnotationError):  # a copy may also be refused (what it deletes is gone)
        done = first_answer()
        if done is None:
            raise
        return done
    if receipt.pk % 500 == 0:  # now and then, the receipts no page will ask for again
        Receipt.objects.filter(created_at__lt=timezone.now() - timezone.timedelta(days=RECEIPT_DAYS)).delete()
    return result


@transaction.atomic(savepoint=False)  # one transaction with its caller's, no savepoint
def _apply(*, project: Project, user, action: dict) -> dict:
    op = action.get("op")
    if op == "label":
        return annotate(project=project, user=user, session_id=_int(action, "session"), seq=_int(action, "seq"),
                        label_id=action.get("label"), start=_offset(action, "start"), end=_offset(action, "end"))
    if op == "delete":
        return annotation_delete(project=project, user=user, annotation_id=_int(action, "id"))
    if op == "review":
        note = action.get("note")
        if note is not None and not isinstance(note, str):
            raise AnnotationError("a note is text")
        row = mark_reviewed(project=project, user=user, session_id=_int(action, "session"), seq=_int(action, "seq"),
                            note=note)
        return {"reviewed": row.seq, "note": row.note}
    if op == "undo":
        coder = _require_coder(project, user)
        delete, restore = action.get("delete") or [], action.get("restore") or []
        if not isinstance(delete, list) or not isinstance(restore, list):
            raise AnnotationError("undo takes lists")
        deleted = list(Annotation.objects.filter(coder=coder, pk__in=[d for d in delete if isinstance(d, int)]))
        _delete(deleted)
        unverdicted = _forget_accepted(coder, deleted)
        restored = []
        for row in restore:
            if not isinstance(row, dict):
                raise AnnotationError("undo restores annotations")
            event = _event(project, _int(row, "session"), _int(row, "seq"))
            label = Label.objects.filter(pk=row.get("label"), codebook=project.codebook_id).first()
            if label is None:
                raise AnnotationError("that label is not in the project's codebook")
            start, end = _offset(row, "start"), _offset(row, "end")
            text = _event_text(event)
            restored.append(annotation_dict(Annotation.objects.create(
                coder=coder, session_id=event.session_id, seq=event.seq, label=label, start=start, end=end,
                quote=text[start:end] if start is not None and end is not None else "",
                codebook_version=project.codebook.version)))
        return {"restored": restored, "unverdicted": unverdicted}
    if op == "suggestion":
        return suggestion_verdict(project=project, user=user, suggestion_id=_int(action, "id"),
                                  accept=action.get("verdict") == "accept")
    raise AnnotationError(f"unknown action {str(op)[:40]!r}")
