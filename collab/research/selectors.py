"""Reads for the workbench: exports, queues, progress, agreement inputs."""

from collections import defaultdict
from collections.abc import Iterator
from itertools import chain

from django.db.models import Q

from collab.research import exchange
from collab.research.annotation import UNIT_KINDS
from collab.research.models import Adjudication, Annotation, Codebook, Coder, Project
from collab.sessions.models import Session


def label_name(label) -> str:
    return label.name + (" (retired)" if label.retired else "")


def annotation_rows(session: Session, projects=None) -> list[dict]:
    """Every annotation and gold label on a session, as export lines. A label
    is named as it is now (`label`), with its id and `label_former_names`
    (oldest first); `codebook_version` is the version it was made under and
    `codebook_current_version` the codebook's version now: every codebook
    save bumps the version, so when the two are equal `label` is the name it
    was made under, else that name is `label` or one of the former names."""
    projects = projects if projects is not None else session.annotation_projects.all()
    from collab.research.models import Reviewed

    rows = []
    notes = {(r.coder_id, r.seq): r.note for r in Reviewed.objects.filter(
        session=session, coder__project__in=projects).exclude(note="")}
    annotations = (Annotation.objects.filter(session=session, coder__project__in=projects)
                   .select_related("coder__project__codebook", "coder__user", "label").order_by("seq", "id"))
    for a in annotations:
        project = a.coder.project
        rows.append({"type": "annotation", "project": project.name, "project_id": project.pk,
                     "codebook": project.codebook.name, "codebook_version": a.codebook_version,
                     "codebook_current_version": project.codebook.version, "coder": a.coder.name,
                     "coder_kind": a.coder.kind, "seq": a.seq, "label": a.label.name, "label_id": a.label_id,
                     "label_former_names": a.label.former_names, "start": a.start, "end": a.end,
                     "quote": a.quote, "note": a.note or notes.get((a.coder_id, a.seq), ""), "gold": False})
    gold = (Adjudication.objects.filter(session=session, project__in=projects)
            .select_related("project__codebook").prefetch_related("labels").order_by("seq", "id"))
    for g in gold:
        book = g.project.codebook
        # A decision that no label applies is one gold row with a null label, so it reads apart from "undecided".
        for label in g.labels.all() or [None]:
            rows.append({"type": "annotation", "project": g.project.name, "project_id": g.project_id,
                         "codebook": book.name, "codebook_version": book.version,
                         "codebook_current_version": book.version, "coder": "adjudicated", "coder_kind": "gold",
                         "seq": g.seq, "label": label.name if label else None, "label_id": label.pk if label else None,
                         "label_former_names": label.former_names if label else [], "start": None, "end": None,
                         "quote": "", "note": "", "gold": True})
    return rows


GOLD_NONE = "(none applies)"  # the CSV gold column of an event adjudicated as having no label


def review_rows(session: Session, projects=None) -> list[dict]:
    """Every coder's note on an event, and every event a coder reviewed and
    found no label for (`no_label`), as export lines: notes and "none
    applies" exist on events with no annotation too."""
    from collab.research.models import Reviewed

    projects = projects if projects is not None else session.annotation_projects.all()
    labelled = set(Annotation.objects.filter(session=session, coder__project__in=projects)
                   .values_list("coder_id", "seq"))
    rows = []
    for r in (Reviewed.objects.filter(session=session, coder__project__in=projects)
              .select_related("coder__project", "coder__user").order_by("seq", "coder_id")):
        no_label = (r.coder_id, r.seq) not in labelled
        if r.note or no_label:
            rows.append({"type": "review", "project": r.coder.project.name, "project_id": r.coder.project_id,
                         "coder": r.coder.name, "coder_kind": r.coder.kind, "seq": r.seq, "note": r.note,
                         "no_label": no_label})
    return rows


def _csv_cells(session: Session, projects=None) -> dict[int, list[str]]:
    """The CSV annotation columns per seq: labels (label@coder;...), gold,
    no_label (coders who found none applies), notes and annotations (JSON
    lists of the review and annotation lines)."""
    cells: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in annotation_rows(session, projects):
        row = cells[r["seq"]]
        if r["gold"]:
            row["gold"].append(GOLD_NONE if r["label"] is None else r["label"])
        else:
            row["labels"].append(f"{r['label']}@{r['coder']}")
        row["annotations"].append({k: v for k, v in r.items() if k not in {"type", "seq"}})
    for r in review_rows(session, projects):
        row = cells[r["seq"]]
        if r["no_label"]:
            row["no_label"].append(r["coder"])
        if r["note"]:
            row["notes"].append({"project": r["project"], "coder": r["coder"], "note": r["note"]})
    return {seq: [";".join(row["labels"]), ";".join(row["gold"]), ";".join(row["no_label"]),
                  exchange.dumps(row["notes"]) if row["notes"] else "",
                  exchange.dumps(row["annotations"]) if row["annotations"] else ""]
            for seq, row in cells.items()}


def export_sessions(sessions, *, format: str, annotations: bool, projects=None) -> Iterator[str]:
    """Sessions in one file: JSONL as one section per session (its header,
    events, then with `annotations` its annotation and review lines); CSV
    with one header row and a `session` column."""
    if format == "csv":
        return exchange.export_csv(sessions, (lambda s: _csv_cells(s, projects)) if annotations else None)
    return chain.from_iterable(
        exchange.export_jsonl(s, chain(annotation_rows(s, projects), review_rows(s, projects)) if annotations else ())
        for s in sessions)


def export_chunks(session: Session, *, format: str, annotations: bool, projects=None) -> Iterator[str]:
    return export_sessions([session], format=format, annotations=annotations, projects=projects)


def codebooks_for(user):
    return Codebook.objects.filter(Q(owner__isnull=True) | Q(owner=user)).prefetch_related("labels")


def projects_for(user):
    return (Project.objects.filter(Q(owner=user) | Q(coders__user=user)).distinct()
            .select_related("codebook", "owner"))


def coders(project: Project) -> list[Coder]:
    return list(project.coders.select_related("user"))


def removal_counts(project: Project) -> dict[str, dict[int, dict]]:
    """What removing each coder, or each session, would delete from the
    project: {"coders": {coder id: counts}, "sessions": {session id: counts}},
    counts being annotations, reviewed (marks), notes and, for a session,
    adjudications (gold decisions)."""
    from django.db.models import Count

    from collab.research.models import Reviewed

    def zeros() -> dict:
        return {"annotations": 0, "reviewed": 0, "notes": 0, "adjudications": 0}

    out = {"coders": {pk: zeros() for pk in project.coders.values_list("pk", flat=True)},
           "sessions": {pk: zeros() for pk in project.sessions.values_list("pk", flat=True)}}
    annotations = Annotation.objects.filter(coder__project=project)
    reviewed = Reviewed.objects.filter(coder__project=project)
    counted = [(annotations, "annotations"), (reviewed, "reviewed"), (reviewed.exclude(note=""), "notes")]
    for key in ("coder", "session"):
        for rows, what in counted:
            for pk, n in rows.values(key).annotate(n=Count("id")).values_list(key, "n"):
                if pk in out[f"{key}s"]:
                    out[f"{key}s"][pk][what] = n
    for pk, n in Adjudication.objects.filter(project=project).values("session").annotate(
            n=Count("id")).values_list("session", "n"):
        if pk in out["sessions"]:
            out["sessions"][pk]["adjudications"] = n
    return out


def visible_annotations(session: Session, user):
    """The annotations a user may see on a session: all of a project they
    own; their own in a project they code, and others' once revealed."""
    if not user.is_authenticated:
        return Annotation.objects.none()
    return Annotation.objects.filter(session=session).filter(
        Q(coder__project__owner=user) | Q(coder__user=user)
        | Q(coder__project__revealed=True, coder__project__coders__user=user)).distinct()


def annotated_seqs(session: Session, user) -> set[int]:
    return set(visible_annotations(session, user).values_list("seq", flat=True))


def label_choices(session: Session, user) -> list[tuple[int, str]]:
    rows = visible_annotations(session, user).values_list("label_id", "label__name", "label__codebook__name").distinct()
    return sorted({(pk, f"{name} ({book})") for pk, name, book in rows}, key=lambda r: r[1])


def seqs_with_label(session: Session, user, label_id) -> set[int]:
    if not str(label_id).isdigit():
        return set()
    return set(visible_annotations(session, user).filter(label_id=int(label_id)).values_list("seq", flat=True))


def project_units(project: Project) -> list[tuple[int, int]]:
    """Every codable event of the project, in session then seq order."""
    from collab.sessions.models import Event

    return list(Event.objects.filter(session__in=project.sessions.all(), kind__in=UNIT_KINDS)
                .order_by("session_id", "seq").values_list("session_id", "seq"))


def progress(project: Project, coders: list[Coder]) -> dict[int, dict]:
    """coder id -> reviewed and total codable events, per session and overall."""
    from collections import Counter

    from collab.research.models import Reviewed

    units = project_units(project)
    totals = Counter(s for s, _ in units)
    unit_set = set(units)
    out = {}
    for coder in coders:
        done = Counter(s for s, q in Reviewed.objects.filter(coder=coder).values_list("session_id", "seq")
                       if (s, q) in unit_set)
        reviewed = sum(done.values())
        out[coder.pk] = {"done": reviewed, "total": len(units),
                         "percent": round(100 * reviewed / len(units)) if units else 0,
                         "sessions": {s: (done[s], totals[s]) for s in totals}}
    return out


def next_to_code(project: Project, coder: Coder) -> tuple[int, int] | None:
    """(session id, seq) of the coder's first unreviewed event, in session
    then seq order; None once they have reviewed every one."""
    from collab.research.models import Reviewed

    done = set(Reviewed.objects.filter(coder=coder).values_list("session_id", "seq"))
    return next((unit for unit in project_units(project) if unit not in done), None)


CODE_PAGE = 100  # codable events per coding page


def coding_view(project: Project, coder: Coder | None, session: Session, viewer, *, page=None, seq=None) -> dict:
    """What one coding page shows: a page of the session's codable events
    (the page holding `seq`, else page `page`, else the coder's first
    unreviewed event), the coder's own labels and notes, everyone else's once
    revealed (or for the owner), and model suggestions for a human coder."""
    from collab.research.models import Reviewed
    from collab.sessions.models import Event

    seqs = list(Event.objects.filter(session=session, kind__in=UNIT_KINDS).order_by("seq").values_list("seq", flat=True))
    done = set(Reviewed.objects.filter(coder=coder, session=session).values_list("seq", flat=True)) if coder else set()
    pages = max(1, -(-len(seqs) // CODE_PAGE))
    if seq is not None and seq in seqs:
        index = seqs.index(seq) // CODE_PAGE
    elif page is not None:
        index = min(max(page - 1, 0), pages - 1)
    else:
        index = next((i for i, s in enumerate(seqs) if s not in done), 0) // CODE_PAGE
    window = seqs[index * CODE_PAGE:(index + 1) * CODE_PAGE]
    first, last = (window[0], window[-1]) if window else (0, -1)
    in_window = {"session": session, "seq__gte": first, "seq__lte": last}
    events = list(Event.objects.filter(kind__in=UNIT_KINDS, **in_window).order_by("seq"))
    mine = Annotation.objects.filter(coder=coder, **in_window) if coder else Annotation.objects.none()
    reviewed = {r.seq: r for r in Reviewed.objects.filter(coder=coder, **in_window)} if coder else {}
    others = Annotation.objects.none()
    if project.revealed or viewer.pk == project.owner_id:
        others = Annotation.objects.filter(coder__project=project, coder__kind=Coder.Kind.HUMAN, **in_window)
        if coder:
            others = others.exclude(coder=coder)
    suggestions = Annotation.objects.filter(coder__project=project, coder__kind=Coder.Kind.MODEL, **in_window)
    return {"events": events, "mine": list(mine.values("id", "seq", "label_id", "start", "end", "quote")),
            "reviewed": reviewed, "reviewed_total": len(done & set(seqs)), "units_total": len(seqs),
            "page": index + 1, "pages": pages,
            "others": list(others.select_related("coder__user", "label").values(
                "seq", "label__name", "coder__user__username", "start", "end")),
            "suggestions": list(suggestions.values("id", "seq", "label_id", "label__name")) if coder else [],
            "verdicts": {int(pk): verdict for r in reviewed.values() for pk, verdict in r.suggestion_verdicts.items()}}


def sessions_to_pick(user, filters, *, exclude: Project | None = None) -> list[Session]:
    """The owner's sessions, filtered for picking a project's set (less
    those already in `exclude`, a project being added to)."""
    rows = Session.objects.filter(owner=user).order_by("-created_at")
    if exclude is not None:
        rows = rows.exclude(annotation_projects=exclude)
    if filters.get("q"):
        rows = rows.filter(title__icontains=filters["q"][:100])
    if filters.get("status") in Session.Status.values:
        rows = rows.filter(status=filters["status"])
    if filters.get("scenario"):
        rows = rows.filter(scenario=filters["scenario"][:40])
    if filters.get("imported") == "1":
        rows = rows.filter(state__has_key="imported")
    return list(rows[:200])


def disagreements(project: Project) -> list[dict]:
    """Every event two or more human coders labelled differently, side by
    side, with the gold label if one was recorded."""
    from collab.research.agreement import coder_values
    from collab.sessions.models import Event

    humans = list(project.coders.filter(kind=Coder.Kind.HUMAN).select_related("user"))
    values = coder_values(project, humans)
    units = sorted({u for v in values.values() for u in v})
    labels = {label.pk: label for label in project.codebook.labels.all()}
    gold = {(g.session_id, g.seq): [label.pk for label in g.labels.all()]
            for g in Adjudication.objects.filter(project=project).prefetch_related("labels")}
    rows = []
    for unit in units:
        coded = [(c, values[c.pk][unit]) for c in humans if unit in values[c.pk]]
        if len(coded) < 2 or len({s for _, s in coded}) < 2:
            continue
        rows.append({"session": unit[0], "seq": unit[1],
                     "coders": [(c.name, [labels[x] for x in sorted(s)]) for c, s in coded],
                     "gold": gold.get(unit), "decided": unit in gold})
    texts = {(e.session_id, e.seq): e for e in Event.objects.filter(
        Q(*[Q(session_id=r["session"], seq=r["seq"]) for r in rows], _connector=Q.OR))} if rows else {}
    for row in rows:
        event = texts.get((row["session"], row["seq"]))
        row["event"] = event
        row["text"] = ((event.payload or {}).get("text") or "") if event else ""
    return rows


def coder_runs(project: Project) -> list:
    from collab.research.models import CoderRun

    return list(CoderRun.objects.filter(coder__project=project).select_related("coder")[:10])


MARKER_SLOTS = 200  # a scrubber shows at most this many marks; denser sessions share slots
MARKER_PRIORITY = ["intervention", "seat", "plan", "vote", "round", "annotation"]


def replay_markers(session: Session, user) -> list[dict]:
    """The scrubber's marks: each event worth a mark (see
    sessions.selectors.timeline_markers) and each annotated one, placed in
    percent along the session. When there are more than MARKER_SLOTS, marks
    in the same slot merge into one that names what it holds and jumps to
    its most notable event."""
    from collections import Counter

    from collab.sessions import selectors as session_selectors

    marks = session_selectors.timeline_markers(session.pk)
    marks += [{"seq": seq, "type": "annotation", "title": "annotated"} for seq in annotated_seqs(session, user)]
    span = max(session.last_seq - 1, 1)
    if len(marks) <= MARKER_SLOTS:
        return [{**m, "left": round((m["seq"] - 1) * 100 / span, 3)} for m in sorted(marks, key=lambda m: m["seq"])]
    slots: dict[int, list[dict]] = {}
    for m in marks:
        slots.setdefault(min(MARKER_SLOTS - 1, (m["seq"] - 1) * MARKER_SLOTS // span), []).append(m)
    merged = []
    for slot, group in sorted(slots.items()):
        top = min(group, key=lambda m: (MARKER_PRIORITY.index(m["type"]), m["seq"]))
        counts = Counter(m["type"] for m in group)
        seqs = [m["seq"] for m in group]
        merged.append({"seq": top["seq"], "type": top["type"], "left": round(slot * 100 / MARKER_SLOTS, 3),
                       "title": f"{min(seqs)}–{max(seqs)}: " + ", ".join(f"{n} {t}" for t, n in counts.most_common())})
    return merged
