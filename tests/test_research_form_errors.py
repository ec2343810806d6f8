"""A refused form comes back as the user filled it: the codebook form's
labels (names, colours, definitions, examples, retired ticks) and the
project forms' name, codebook, instructions and ticked sessions."""

import re

import pytest

from collab.research.codebooks import codebook_save
from collab.research.models import Codebook, Project
from tests.research_helpers import run_session
from tests.test_research_codebooks import labels_post

pytestmark = pytest.mark.django_db(transaction=True)


def field(page: str, name: str) -> str:
    """The value of the input called `name`, or a textarea's text."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    if found:
        return found.group(1)
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>([^<]*)</textarea>', page)
    return found.group(1) if found else None


def ticked(page: str, name: str) -> bool:
    return bool(re.search(rf'<input type="checkbox" name="{name}" value="1" checked>', page))


def test_new_codebook_refused_keeps_every_label_row(client, owner):
    client.force_login(owner)
    response = client.post("/research/codebooks/new/", labels_post([
        {"name": "agree", "color": "#16a34a", "definition": "Says yes", "example": "Fine by me"},
        {"name": "object", "color": "#dc2626", "definition": "Says no"},
        {"name": "agree", "color": "#2563eb", "example": "Sure"}, {"name": ""}],
        name="Stance", description="How agents take a proposal", multi_label="1"))
    page = response.content.decode()
    assert response.status_code == 400 and "Not saved: two labels are called &#x27;agree&#x27;" in page
    assert not Codebook.objects.filter(owner=owner).exists()
    assert field(page, "name") == "Stance" and field(page, "description") == "How agents take a proposal"
    assert 'name="multi_label" value="1" checked' in page
    assert [field(page, f"label-{i}-name") for i in range(4)] == ["agree", "object", "agree", ""]
    assert [field(page, f"label-{i}-color") for i in range(3)] == ["#16a34a", "#dc2626", "#2563eb"]
    assert field(page, "label-0-definition") == "Says yes" and field(page, "label-0-example") == "Fine by me"
    assert field(page, "label-1-definition") == "Says no" and field(page, "label-2-example") == "Sure"

    fixed = client.post("/research/codebooks/new/", labels_post([
        {"name": "agree", "color": "#16a34a"}, {"name": "object", "color": "#dc2626"}], name="Stance"))
    assert fixed.status_code == 302
    assert [lab.name for lab in Codebook.objects.get(owner=owner).labels.all()] == ["agree", "object"]


def test_edit_refused_keeps_renames_retired_ticks_and_the_unticked_multi_label(client, owner):
    book = codebook_save(owner=owner, codebook=None, name="Stance", multi_label=True, labels=[
        {"name": "agree", "color": "#16a34a"}, {"name": "object", "color": "#dc2626"}])
    agree, objects = book.labels.all()
    client.force_login(owner)
    response = client.post(f"/research/codebooks/{book.pk}/edit/", labels_post([
        {"id": agree.pk, "name": "assent", "color": "#16a34a"},
        {"id": objects.pk, "name": "object", "color": "#dc2626", "retired": "1"},
        {"name": "ask", "color": "#0891b2", "definition": "A question"},
        {"name": "ask", "color": "#d97706"}], name="Stance"))
    page = response.content.decode()
    assert response.status_code == 400 and "two labels are called &#x27;ask&#x27;" in page
    assert field(page, "label-0-id") == str(agree.pk) and field(page, "label-0-name") == "assent"
    assert field(page, "label-1-id") == str(objects.pk) and ticked(page, "label-1-retired")
    assert not ticked(page, "label-0-retired")
    assert field(page, "label-2-name") == "ask" and field(page, "label-2-definition") == "A question"
    assert field(page, "label-3-color") == "#d97706"
    assert 'name="multi_label" value="1" checked' not in page
    book.refresh_from_db()
    assert book.version == 1 and [lab.name for lab in book.labels.all()] == ["agree", "object"]


def test_new_label_rows_default_to_distinct_colours(client, owner):
    client.force_login(owner)
    page = client.get("/research/codebooks/new/").content.decode()
    colours = [field(page, f"label-{i}-color") for i in range(3)]
    assert None not in colours and len(set(colours)) == 3
    assert 'id="add-label"' in page and "js/codebook_form.js" in page


@pytest.fixture
def sessions(owner):
    return [run_session(owner, title="First"), run_session(owner, title="Second"), run_session(owner, title="Third")]


def test_new_project_refused_keeps_name_codebook_instructions_and_ticks(client, owner, sessions):
    book = codebook_save(owner=owner, codebook=None, name="Tone", labels=[{"name": "warm", "color": "#16a34a"}])
    client.force_login(owner)
    first, second, third = sessions
    response = client.post("/research/projects/new/", {
        "name": "  ", "codebook": book.pk, "instructions": "Label each message", "sessions": [first.pk, third.pk]})
    page = response.content.decode()
    assert response.status_code == 400 and "Not created: give the project a name" in page
    assert f'<option value="{book.pk}" selected>' in page and "Label each message</textarea>" in page
    assert f'value="{first.pk}" checked' in page and f'value="{third.pk}" checked' in page
    assert f'value="{second.pk}" checked' not in page
    response = client.post("/research/projects/new/", {
        "name": "Tone study", "codebook": "", "instructions": "Label each message", "sessions": [second.pk]})
    page = response.content.decode()
    assert response.status_code == 400 and "pick a codebook" in page and 'value="Tone study"' in page
    assert f'value="{second.pk}" checked' in page and not Project.objects.exists()


def test_add_sessions_refused_keeps_ticks(client, owner, sessions, outsider):
    book = codebook_save(owner=owner, codebook=None, name="Tone", labels=[{"name": "warm", "color": "#16a34a"}])
    first, second, third = sessions
    client.force_login(owner)
    client.post("/research/projects/new/", {"name": "Tone", "codebook": book.pk, "sessions": [first.pk]})
    project = Project.objects.get()
    theirs = run_session(outsider, title="Not yours")
    response = client.post(f"/research/projects/{project.pk}/sessions/add/", {"sessions": [second.pk, theirs.pk]})
    page = response.content.decode()
    assert response.status_code == 400 and "Not added" in page
    assert f'value="{second.pk}" checked' in page and f'value="{third.pk}" checked' not in page
    assert list(project.sessions.values_list("pk", flat=True)) == [first.pk]


def test_codebook_page_numbers_keys_as_the_coding_palette_does(client, owner, outsider, sessions):
    book = codebook_save(owner=owner, codebook=None, name="Stance", labels=[
        {"name": "agree", "color": "#16a34a"}, {"name": "object", "color": "#dc2626"}, {"name": "ask", "color": "#0891b2"}])
    agree, objects, ask = book.labels.all()
    client.force_login(owner)
    client.post(f"/research/codebooks/{book.pk}/edit/", labels_post([
        {"id": agree.pk, "name": "agree", "color": "#16a34a"},
        {"id": objects.pk, "name": "object", "color": "#dc2626", "retired": "1"},
        {"id": ask.pk, "name": "ask", "color": "#0891b2"}], name="Stance"))
    page = client.get(f"/research/codebooks/{book.pk}/").content.decode()
    keys = re.findall(r"<td>(?:<kbd>(\d)</kbd>|<span class=\"muted\">(retired)</span>)</td>", page)
    assert [k or r for k, r in keys] == ["1", "retired", "2"]

    client.post("/research/projects/new/", {"name": "P", "codebook": book.pk, "sessions": [sessions[0].pk]})
    project = Project.objects.get()
    client.post(f"/research/projects/{project.pk}/coders/", {"username": "outsider"})
    client.force_login(outsider)
    code = client.get(f"/research/projects/{project.pk}/code/{sessions[0].pk}/").content.decode()
    assert re.findall(r'data-name="(\w+)"><kbd>(\d)</kbd>', code) == [("agree", "1"), ("ask", "2")]
