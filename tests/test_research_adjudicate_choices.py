"""Adjudication offers what is recorded: a gold label that has since been
retired stays ticked (marked retired) so saving again keeps it, and "none
applies" is an explicit choice for single- and multi-label codebooks alike,
exported as a gold row with no label."""

import csv
import io
import json
import re

import pytest

from collab.research.codebooks import codebook_save
from collab.research.models import Adjudication
from tests.research_helpers import run_session
from tests.test_research_annotation import act, units

pytestmark = pytest.mark.django_db(transaction=True)


def project_for(client, owner, coders, session, *, multi_label: bool):
    from collab.research.models import Project

    book = codebook_save(owner=owner, codebook=None, name="Stance", multi_label=multi_label, labels=[
        {"name": "agree", "color": "#16a34a"}, {"name": "object", "color": "#dc2626"}, {"name": "ask", "color": "#0891b2"}])
    client.force_login(owner)
    client.post("/research/projects/new/", {"name": "Stance", "codebook": book.pk, "sessions": [session.pk]})
    project = Project.objects.get()
    for coder in coders:
        client.post(f"/research/projects/{project.pk}/coders/", {"username": coder.username})
    return project, book


@pytest.fixture
def coders(django_user_model):
    return [django_user_model.objects.create_user(n, password=f"{n}-pass-123") for n in ("alice", "bob")]


@pytest.fixture
def session(owner):
    return run_session(owner, pad_to=12, title="Coded")


def disagree(client, project, session, coders, labels) -> int:
    seq = units(session)[0].seq
    for user, label in zip(coders, labels, strict=True):
        client.force_login(user)
        act(client, project, op="label", session=session.pk, seq=seq, label=label.pk)
    return seq


def offered(page: str) -> list[tuple[str, bool]]:
    """(what the gold choice says, whether it is ticked), in order."""
    return [(" ".join(re.sub(r"<[^>]+>", " ", text).split()), bool(checked)) for checked, text in re.findall(
        r'<input type="(?:radio|checkbox)" name="label" value="[^"]*"( checked)?>(.*?)</label>', page)]


def gold(client, project) -> tuple[list[dict], dict]:
    body = b"".join(client.get(f"/research/projects/{project.pk}/export/").streaming_content).decode()
    lines = [json.loads(line) for line in body.splitlines()]
    table = b"".join(client.get(f"/research/projects/{project.pk}/export/?format=csv").streaming_content).decode()
    return ([x for x in lines if x["type"] == "annotation" and x["gold"]],
            {r["seq"]: r["gold"] for r in csv.DictReader(io.StringIO(table))})


def test_retired_gold_label_stays_ticked_and_survives_a_second_save(client, owner, coders, session):
    project, book = project_for(client, owner, coders, session, multi_label=False)
    agree, objects, ask = book.labels.all()
    seq = disagree(client, project, session, coders, [agree, objects])
    client.force_login(owner)
    url = f"/research/projects/{project.pk}/adjudicate/"
    client.post(url, {"session": session.pk, "seq": seq, "label": objects.pk})
    client.post(f"/research/codebooks/{book.pk}/edit/", {
        "name": "Stance", **{f"label-{i}-{k}": v for i, lab in enumerate((agree, objects, ask))
                             for k, v in (("id", lab.pk), ("name", lab.name), ("color", lab.color))},
        "label-1-retired": "1"})
    objects.refresh_from_db()
    assert objects.retired
    assert offered(client.get(url).content.decode()) == [
        ("agree", False), ("object retired", True), ("ask", False), ("none applies", False)]
    client.post(url, {"session": session.pk, "seq": seq, "label": objects.pk})
    assert [lab.pk for lab in Adjudication.objects.get().labels.all()] == [objects.pk]

    # An empty form is refused rather than wiping the decision.
    response = client.post(url, {"session": session.pk, "seq": seq}, follow=True)
    assert "Not recorded: choose a label, or “none applies”" in response.content.decode()
    assert [lab.pk for lab in Adjudication.objects.get().labels.all()] == [objects.pk]

    # Once the gold moves off the retired label, it is no longer offered.
    client.post(url, {"session": session.pk, "seq": seq, "label": ask.pk})
    assert offered(client.get(url).content.decode()) == [
        ("agree", False), ("ask", True), ("none applies", False)]


def test_multi_label_none_applies_is_explicit_and_exported(client, owner, coders, session):
    project, book = project_for(client, owner, coders, session, multi_label=True)
    agree, objects, ask = book.labels.all()
    seq = disagree(client, project, session, coders, [agree, objects])
    client.force_login(owner)
    url = f"/research/projects/{project.pk}/adjudicate/"
    page = client.get(url).content.decode()
    assert '<input type="checkbox" name="label" value="none">' in page
    assert offered(page) == [("agree", False), ("object", False), ("ask", False), ("none applies", False)]

    response = client.post(url, {"session": session.pk, "seq": seq, "label": [agree.pk, "none"]}, follow=True)
    assert "Not recorded: “none applies” cannot go with a label" in response.content.decode()
    assert not Adjudication.objects.exists()

    client.post(url, {"session": session.pk, "seq": seq, "label": [agree.pk, ask.pk]})
    rows, column = gold(client, project)
    assert sorted(r["label"] for r in rows) == ["agree", "ask"] and column[str(seq)] == "agree;ask"

    client.post(url, {"session": session.pk, "seq": seq, "label": "none"})
    decision = Adjudication.objects.get()
    assert list(decision.labels.all()) == []
    page = client.get(url).content.decode()
    assert "is-decided" in page and offered(page)[-1] == ("none applies", True)
    rows, column = gold(client, project)
    assert [(r["seq"], r["label"], r["label_id"]) for r in rows] == [(seq, None, None)]
    assert column[str(seq)] == "(none applies)"
    assert column[str(seq + 1)] == ""
