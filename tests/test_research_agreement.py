"""Agreement equals the reference packages on their own documented examples,
with the labels made through the coding door: scikit-learn's cohen_kappa_score
docstring (0.6875) and krippendorff.alpha's docstring examples (nominal
0.691358 with missing data; 0.743 with four coders)."""

import math

import krippendorff
import numpy as np
import pytest
from django.contrib.auth.models import User
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from collab.research import agreement, annotation
from collab.research.codebooks import codebook_save
from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)
nan = math.nan


def coded_project(owner, label_names, table, multi=False):
    """A project whose coders (one per row of `table`) give unit k the label
    named table[row][k]; None means the coder never reviewed that unit."""
    session = run_session(owner, pad_to=60)
    book = codebook_save(owner=owner, codebook=None, name="Codes", multi_label=multi,
                         labels=[{"name": str(n), "color": "#123456"} for n in label_names])
    labels = {label.name: label for label in book.labels.all()}
    project = annotation.project_create(owner=owner, name="Agreement", codebook=book, sessions=[session])
    seqs = [e.seq for e in session.events.filter(kind__in=annotation.UNIT_KINDS).order_by("seq")][:len(table[0])]
    for i, row in enumerate(table):
        user = User.objects.create_user(f"coder{i}")
        annotation.coder_add(project=project, by=owner, user=user)
        for seq, value in zip(seqs, row, strict=True):
            if value is None:
                continue
            annotation.apply(project=project, user=user, action={"op": "label", "session": session.pk, "seq": seq,
                                                                 "label": labels[str(value)].pk})
    return project


def test_cohen_kappa_and_confusion_matrix_equal_scikit_learns_documented_example(client, owner):
    y1 = ["negative", "positive", "negative", "neutral", "positive"]
    y2 = ["negative", "positive", "negative", "neutral", "negative"]
    project = coded_project(owner, ["negative", "positive", "neutral"], [y1, y2])
    result = agreement.project_agreement(project)
    (pair,) = result["overall"].pairs
    assert pair.kappa == pytest.approx(0.6875, abs=1e-12) == cohen_kappa_score(y1, y2)
    assert pair.proportion == pytest.approx(0.8) and pair.percent == pytest.approx(80) and pair.units == 5
    order = pair.categories
    assert pair.matrix == confusion_matrix(y1, y2, labels=order).tolist()
    expected_alpha = krippendorff.alpha(reliability_data=[[order.index(v) for v in y] for y in (y1, y2)],
                                        level_of_measurement="nominal")
    assert result["overall"].alpha == pytest.approx(expected_alpha, abs=1e-12)
    # per label: presence of each label, compared with the packages on the same 0/1 vectors
    for label, m in result["per_label"]:
        a = [int(v == label.name) for v in y1]
        b = [int(v == label.name) for v in y2]
        if len(set(a) | set(b)) > 1:
            assert m.pairs[0].kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
            assert m.alpha == pytest.approx(krippendorff.alpha(reliability_data=[a, b],
                                                               level_of_measurement="nominal"), abs=1e-12)
    client.force_login(owner)
    page = client.get(f"/research/projects/{project.pk}/agreement/").content.decode()
    assert "0.6875" in page and "An event carries a label if the coder put it on the whole event or on any span" in page
    assert "human vs human" in page and "Confusion matrix" in page
    assert "<td>80.0%</td>" in page and "0.800" not in page  # a proportion shown as a percentage


KRIPPENDORFF_DOC = [[nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
                    [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
                    [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4]]

KRIPPENDORFF_FOUR_CODERS = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]


@pytest.mark.parametrize("table, documented", [(KRIPPENDORFF_DOC, 0.691358), (KRIPPENDORFF_FOUR_CODERS, 0.743)])
def test_krippendorff_alpha_equals_the_packages_documented_examples_with_missing_data(owner, table, documented):
    rows = [[None if isinstance(v, float) and math.isnan(v) else int(v) for v in row] for row in table]
    project = coded_project(owner, [1, 2, 3, 4, 5], rows)
    result = agreement.project_agreement(project)
    reference = krippendorff.alpha(reliability_data=np.array(table), level_of_measurement="nominal")
    assert result["overall"].alpha == pytest.approx(reference, abs=1e-12)
    assert round(result["overall"].alpha, 6 if documented == 0.691358 else 3) == documented


def test_spans_count_for_their_event(owner):
    project = coded_project(owner, ["yes", "no"], [["yes", "no", "yes"], ["yes", "no", "no"]], multi=True)
    session = project.sessions.get()
    coder = project.coders.get(user__username="coder1")
    message = session.events.filter(kind="message").exclude(payload__text="").order_by("seq").last()
    yes = project.codebook.labels.get(name="yes")
    annotation.apply(project=project, user=coder.user, action={
        "op": "label", "session": session.pk, "seq": message.seq, "label": yes.pk, "start": 0, "end": 3})
    values = agreement.coder_values(project, [coder])[coder.pk]
    assert yes.pk in values[(session.pk, message.seq)]
