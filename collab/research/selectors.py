"""Reads for the workbench: exports, queues, progress, agreement inputs."""

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Q

from collab.research import exchange
from collab.research.models import Adjudication, Annotation, Codebook, Coder, Project
from collab.sessions.models import Session

UNIT_KINDS = ("message", "action", "vote", "plan")  # the events a project codes


def label_name(label) -> str:
    return label.name + (" (retired)" if label.retired else "")


def annotation_rows(session: Session, projects=None) -> list[dict]:
    """Every annotation and gold label on a session, for exports."""
    projects = projects if projects is not None else session.annotation_projects.all()
    rows = []
    annotations = (Annotation.objects.filter(session=session, coder__project__in=projects)
                   .select_related("coder__project__codebook", "coder__user", "label").order_by("seq", "id"))
    for a in annotations:
        project = a.coder.project
        rows.append({"project": project.name, "project_id": project.pk, "codebook": project.codebook.name,
                     "codebook_version": a.codebook_version, "coder": a.coder.name, "coder_kind": a.coder.kind,
                     "seq": a.seq, "label": a.label.name, "label_id": a.label_id, "start": a.start, "end": a.end,
                     "quote": a.quote, "note": a.note, "gold": False})
    gold = (Adjudication.objects.filter(session=session, project__in=projects)
            .select_related("project__codebook").prefetch_related("labels").order_by("seq", "id"))
    for g in gold:
        for label in g.labels.all():
            rows.append({"project": g.project.name, "project_id": g.project_id, "codebook": g.project.codebook.name,
                         "codebook_version": g.project.codebook.version, "coder": "adjudicated",
                         "coder_kind": "gold", "seq": g.seq, "label": label.name, "label_id": label.pk,
                         "start": None, "end": None, "quote": "", "note": "", "gold": True})
    return rows


def export_chunks(session: Session, *, format: str, annotations: bool, projects=None) -> Iterator[str]:
    rows = annotation_rows(session, projects) if annotations else []
    if format == "csv":
        by_seq = None
        if annotations:
            labels, gold = defaultdict(list), defaultdict(list)
            for r in rows:
                (gold if r["gold"] else labels)[r["seq"]].append(r["label"] if r["gold"] else f"{r['label']}@{r['coder']}")
            by_seq = {seq: (";".join(labels[seq]), ";".join(gold[seq])) for seq in set(labels) | set(gold)}
        return exchange.export_csv(session, by_seq)
    return exchange.export_jsonl(session, rows)


def codebooks_for(user):
    return Codebook.objects.filter(Q(owner__isnull=True) | Q(owner=user)).prefetch_related("labels")


def projects_for(user):
    return (Project.objects.filter(Q(owner=user) | Q(coders__user=user)).distinct()
            .select_related("codebook", "owner"))


def coders(project: Project) -> list[Coder]:
    return list(project.coders.select_related("user"))


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
