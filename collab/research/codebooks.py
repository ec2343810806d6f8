"""Codebook writes: create, edit (every save is a new version), copy, and
JSON out and in. A label is never deleted once made: renaming keeps its id
(and its former names) and retiring hides it from new coding, so old
annotations stay readable."""

import json
import re

from django.db import transaction
from django.db.models import Q

from collab.research import shipped
from collab.research.models import Codebook, Label

MAX_ACTIVE_LABELS = 9  # number keys 1-9 label an event
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
SCHEMA = "collab.codebook"


class CodebookError(ValueError):
    """A codebook change that was refused; nothing was saved."""


def ensure_shipped() -> None:
    if Codebook.objects.filter(owner=None).count() < len(shipped.SHIPPED):
        shipped.install(Codebook, Label)


def _clean_labels(labels: list[dict], existing: dict[int, Label]) -> list[dict]:
    cleaned, names = [], set()
    for i, raw in enumerate(labels, start=1):
        if not isinstance(raw, dict):
            raise CodebookError(f"label {i}: must be an object")
        name = str(raw.get("name") or "").strip()
        if not name and raw.get("id") is None:
            continue  # an empty new row
        if "\x00" in name:
            raise CodebookError(f"label {i}: the name contains a NUL character")
        if not name or len(name) > 80:
            raise CodebookError(f"label {i}: a name of 1 to 80 characters is needed")
        color = str(raw.get("color") or "#4f46e5")
        if not COLOR.match(color):
            raise CodebookError(f"label {name!r}: colour must look like #1a2b3c")
        texts = {k: str(raw.get(k) or "") for k in ("definition", "example")}
        if any(len(v) > 4000 or "\x00" in v for v in texts.values()):
            raise CodebookError(f"label {name!r}: definition and example take up to 4,000 characters")
        retired = bool(raw.get("retired"))
        if not retired:
            if name.casefold() in names:
                raise CodebookError(f"two labels are called {name!r}")
            names.add(name.casefold())
        label_id = raw.get("id")
        if label_id is not None and int(label_id) not in existing:
            raise CodebookError(f"label {name!r}: not a label of this codebook")
        former = raw.get("former_names") or []
        if not isinstance(former, list) or not all(isinstance(f, str) and 0 < len(f) <= 80 and "\x00" not in f
                                                   for f in former):
            raise CodebookError(f"label {name!r}: former_names must be a list of names of 1 to 80 characters")
        cleaned.append({"id": int(label_id) if label_id is not None else None, "name": name, "color": color,
                        "retired": retired, "former_names": former, **texts})
    if sum(not c["retired"] for c in cleaned) > MAX_ACTIVE_LABELS:
        raise CodebookError(f"at most {MAX_ACTIVE_LABELS} labels can be in use (number keys 1-9); retire some")
    if not any(not c["retired"] for c in cleaned):
        raise CodebookError("a codebook needs at least one label in use")
    return cleaned


def _check_meta(name: str, description: str) -> tuple[str, str]:
    name = (name or "").strip()
    if "\x00" in name or "\x00" in (description or ""):
        raise CodebookError(f"the {'name' if chr(0) in name else 'description'} contains a NUL character")
    if not name or len(name) > 120:
        raise CodebookError("a codebook needs a name of 1 to 120 characters")
    if len(description or "") > 10000:
        raise CodebookError("the description takes up to 10,000 characters")
    return name, description or ""


@transaction.atomic
def codebook_save(*, owner, codebook: Codebook | None, name: str, description: str = "", multi_label: bool = False,
                  labels: list[dict], source: str = "") -> Codebook:
    """Create a codebook, or save an edit of one the user owns as its next version."""
    name, description = _check_meta(name, description)
    if codebook is not None:
        codebook = Codebook.objects.select_for_update().get(pk=codebook.pk)
        if codebook.owner_id != owner.pk:
            raise CodebookError("only the codebook's owner can edit it; shipped codebooks can be copied")
    existing = {label.pk: label for label in codebook.labels.all()} if codebook else {}
    cleaned = _clean_labels(labels, existing)
    if codebook is None:
        codebook = Codebook.objects.create(owner=owner, name=name, description=description, multi_label=multi_label,
                                           source=source[:2000])
    else:
        codebook.name, codebook.description, codebook.multi_label = name, description, multi_label
        codebook.version += 1
        codebook.save()
    for order, c in enumerate(cleaned):
        label = existing.get(c["id"]) if c["id"] else None
        if label is None:  # a new label; an imported one brings the names it had
            label = Label(codebook=codebook, former_names=c["former_names"])
        elif label.name != c["name"]:
            label.former_names = [*label.former_names, label.name]
        label.name, label.color, label.retired = c["name"], c["color"], c["retired"]
        label.definition, label.example, label.order = c["definition"], c["example"], order
        label.save()
    return codebook


def codebook_copy(*, owner, codebook: Codebook) -> Codebook:
    labels = [{"name": label.name, "color": label.color, "definition": label.definition, "example": label.example}
              for label in codebook.labels.filter(retired=False)]
    copy = codebook_save(owner=owner, codebook=None, name=f"{codebook.name} (copy)"[:120],
                         description=codebook.description, multi_label=codebook.multi_label, labels=labels,
                         source=codebook.source)
    if codebook.source_url:  # the citation's link goes with it
        copy.source_url = codebook.source_url
        copy.save(update_fields=["source_url"])
    return copy


def codebook_json(codebook: Codebook) -> dict:
    return {
        "schema": SCHEMA, "version": 1, "name": codebook.name, "description": codebook.description,
        "source": codebook.source, "multi_label": codebook.multi_label, "codebook_version": codebook.version,
        "labels": [{"name": label.name, "color": label.color, "definition": label.definition,
                    "example": label.example, "retired": label.retired, "former_names": label.former_names}
                   for label in codebook.labels.all()],
    }


def _unused_name(owner, name: str) -> str:
    """`name`, or "name (imported N)" when the owner already sees a codebook of that name."""
    taken = set(Codebook.objects.filter(Q(owner=None) | Q(owner=owner)).values_list("name", flat=True))
    if name not in taken:
        return name
    n = 2
    while (candidate := f"{name[:100]} (imported {n})") in taken:
        n += 1
    return candidate


def codebook_import(*, owner, data: bytes) -> Codebook:
    """A `collab.codebook` file becomes a new codebook of the owner's (version 1),
    labels keeping their former names; a name already in use gets "(imported N)"."""
    if len(data) > 1_000_000:
        raise CodebookError("a codebook file is at most 1 MB")
    if not data.strip():
        raise CodebookError("the file is empty")
    try:
        spec = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodebookError(f"not a JSON file ({exc})") from None
    if not isinstance(spec, dict) or spec.get("schema") != SCHEMA:
        raise CodebookError(f"not a codebook file: \"schema\" must be {SCHEMA!r}")
    if not isinstance(spec.get("labels"), list):
        raise CodebookError("\"labels\" must be a list")
    if not isinstance(spec.get("name"), str) or not isinstance(spec.get("description", ""), str):
        raise CodebookError("\"name\" and \"description\" must be text")
    labels = [{k: v for k, v in label.items() if k != "id"} if isinstance(label, dict) else label
              for label in spec["labels"]]
    name, _ = _check_meta(spec["name"], "")
    return codebook_save(owner=owner, codebook=None, name=_unused_name(owner, name), description=spec.get("description", ""),
                         multi_label=bool(spec.get("multi_label")), labels=labels, source=str(spec.get("source", "")))
