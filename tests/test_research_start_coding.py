"""The project page's coding button opens the coder's first unreviewed
event: in the first session they have not finished, not always the first."""

import re

import pytest

from collab.research.codebooks import codebook_save
from collab.research.models import Project
from tests.research_helpers import run_session
from tests.test_research_annotation import act, units

pytestmark = pytest.mark.django_db(transaction=True)


def button(client, project) -> tuple[str, str]:
    page = client.get(f"/research/projects/{project.pk}/").content.decode()
    href, text = re.search(r'<a class="btn[^"]*" href="([^"]+)" id="start-coding">([^<]+)</a>', page).groups()
    return href.replace("&amp;", "&"), text


def test_start_coding_opens_the_first_unreviewed_event(client, owner, outsider):
    first, second = run_session(owner, pad_to=14, title="First"), run_session(owner, pad_to=10, title="Second")
    book = codebook_save(owner=owner, codebook=None, name="Tone", labels=[{"name": "warm", "color": "#16a34a"}])
    client.force_login(owner)
    client.post("/research/projects/new/", {"name": "Tone", "codebook": book.pk, "sessions": [first.pk, second.pk]})
    project = Project.objects.get()
    client.post(f"/research/projects/{project.pk}/coders/", {"username": "outsider"})
    client.force_login(outsider)
    base = f"/research/projects/{project.pk}/code/"
    one, two = [e.seq for e in units(first)], [e.seq for e in units(second)]
    assert button(client, project) == (f"{base}{first.pk}/?seq={one[0]}#u-{one[0]}", "Start coding")

    for seq in one[:2]:
        act(client, project, op="review", session=first.pk, seq=seq)
    assert button(client, project) == (f"{base}{first.pk}/?seq={one[2]}#u-{one[2]}", "Continue coding")

    for seq in one[2:]:
        act(client, project, op="review", session=first.pk, seq=seq)
    href, text = button(client, project)
    assert (href, text) == (f"{base}{second.pk}/?seq={two[0]}#u-{two[0]}", "Continue coding")
    assert f'id="u-{two[0]}"' in client.get(href).content.decode()

    for seq in two:
        act(client, project, op="review", session=second.pk, seq=seq)
    assert button(client, project) == (f"{base}{first.pk}/", "All reviewed: look over your coding")
