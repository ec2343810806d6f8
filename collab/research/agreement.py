"""Agreement between coders, computed with the established packages:
Cohen's kappa and the confusion matrix from scikit-learn, Krippendorff's
alpha (nominal, missing data allowed) from `krippendorff`. Nothing here
re-derives a statistic; this module only lays the labels out.

The unit is the event. A span label counts for its event: an event carries
a label if the coder put it on the whole event or on any span inside it.
A coder's value for an event is the set of labels it carries once the coder
has reviewed the event (no label = "none applies"); an event the coder never
reviewed is missing data. Overall, each distinct set is one nominal
category; per label, the value is whether the label is present.
"""

import math
import warnings
from dataclasses import dataclass, field
from itertools import combinations

from collab.research.models import Annotation, Coder, Label, Project, Reviewed

SPAN_RULE = "An event carries a label if the coder put it on the whole event or on any span inside it."
NONE = "(none)"


@dataclass
class Pair:
    a: str
    b: str
    a_kind: str
    b_kind: str
    units: int
    kappa: float | None
    proportion: float | None  # share of the events both coded on which they agree, 0 to 1
    categories: list[str] = field(default_factory=list)
    matrix: list[list[int]] = field(default_factory=list)

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        return list(zip(self.categories, self.matrix, strict=True))

    @property
    def percent(self) -> float | None:
        return None if self.proportion is None else 100 * self.proportion

    @property
    def involves_model(self) -> bool:
        return "model" in (self.a_kind, self.b_kind)


@dataclass
class Measure:
    name: str
    alpha: float | None
    units: int
    pairs: list[Pair]


def _finite(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def coder_values(project: Project, coders: list[Coder]) -> dict[int, dict[tuple[int, int], frozenset]]:
    """coder id -> {(session, seq): labels} over the events the coder reviewed."""
    values: dict[int, dict] = {c.pk: {} for c in coders}
    for coder_id, session_id, seq in Reviewed.objects.filter(coder__in=coders).values_list("coder", "session", "seq"):
        values[coder_id][(session_id, seq)] = set()
    for coder_id, session_id, seq, label_id in (Annotation.objects.filter(coder__in=coders)
                                                .values_list("coder", "session", "seq", "label")):
        values[coder_id].setdefault((session_id, seq), set()).add(label_id)
    return {c: {u: frozenset(v) for u, v in units.items()} for c, units in values.items()}


def alpha(rows: list[list]) -> float | None:
    """Nominal alpha over coders x units (None = missing), or None when
    there is too little to compare (fewer than two values in any unit, or
    one category only)."""
    import krippendorff  # heavy (numpy): imported on use, so loading the URL conf stays quick
    import numpy as np

    data = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    paired = (~np.isnan(data)).sum(axis=0) >= 2
    if len(rows) < 2 or not paired.any() or len(np.unique(data[:, paired][~np.isnan(data[:, paired])])) < 2:
        return None
    return _finite(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def pair(a: Coder, b: Coder, xs: list, ys: list, names: dict) -> Pair:
    units = len(xs)
    if not units:
        return Pair(a.name, b.name, a.kind, b.kind, 0, None, None)
    from sklearn.metrics import cohen_kappa_score, confusion_matrix  # heavy: imported on use

    categories = sorted(set(xs) | set(ys), key=lambda c: names.get(c, str(c)))
    kappa = _finite(cohen_kappa_score(xs, ys, labels=categories)) if len(categories) > 1 else None
    with warnings.catch_warnings():  # one category only: the 1x1 matrix is right, sklearn warns anyway
        warnings.simplefilter("ignore", UserWarning)
        matrix = confusion_matrix(xs, ys, labels=categories).tolist()
    proportion = sum(x == y for x, y in zip(xs, ys, strict=True)) / units
    return Pair(a.name, b.name, a.kind, b.kind, units, kappa, proportion, [names.get(c, str(c)) for c in categories],
                matrix)


def measure(name: str, coders: list[Coder], per_coder: dict[int, dict], units: list, names: dict) -> Measure:
    """Agreement on one nominal variable: `per_coder[coder][unit]` is an int category."""
    codes = [[per_coder[c.pk].get(u) for u in units] for c in coders]
    pairs = []
    for (i, a), (j, b) in combinations(enumerate(coders), 2):
        both = [(x, y) for x, y in zip(codes[i], codes[j], strict=True) if x is not None and y is not None]
        pairs.append(pair(a, b, [x for x, _ in both], [y for _, y in both], names))
    coded = sum(1 for k in range(len(units)) if sum(row[k] is not None for row in codes) >= 2)
    return Measure(name, alpha(codes), coded, pairs)


def project_agreement(project: Project, coders: list[Coder] | None = None) -> dict:
    coders = coders if coders is not None else list(project.coders.select_related("user"))
    values = coder_values(project, coders)
    units = sorted({u for v in values.values() for u in v})
    labels = list(Label.objects.filter(codebook=project.codebook_id))
    label_names = {label.pk: label.name for label in labels}
    # Overall: each distinct label set is one category.
    sets = sorted({s for v in values.values() for s in v.values()}, key=lambda s: sorted(s))
    set_code = {s: i for i, s in enumerate(sets)}
    set_names = {i: " + ".join(sorted(label_names.get(x, "?") for x in s)) or NONE for s, i in set_code.items()}
    overall = measure("Overall", coders, {c: {u: set_code[s] for u, s in v.items()} for c, v in values.items()},
                      units, set_names)
    per_label = []
    for label in labels:
        present = {c: {u: int(label.pk in s) for u, s in v.items()} for c, v in values.items()}
        if any(label.pk in s for v in values.values() for s in v.values()) or not label.retired:
            per_label.append((label, measure(label.name, coders, present, units, {0: "absent", 1: "present"})))
    return {"overall": overall, "per_label": per_label, "coders": coders, "units": len(units), "rule": SPAN_RULE}
