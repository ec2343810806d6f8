"""Codebooks: the shipped four with their sources, versioned edits, rename
and retire keeping labels, JSON out and in, refusals that write nothing."""

import io
import json

import pytest

from collab.research.models import Codebook, Label


def labels_post(rows: list[dict], **meta) -> dict:
    data = {"name": "My codes", "description": "", **meta}
    for i, row in enumerate(rows):
        for key, value in row.items():
            if value is not None and value is not False:
                data[f"label-{i}-{key}"] = value
    return data


@pytest.mark.django_db
def test_shipped_codebooks_cite_their_sources(client, owner):
    client.force_login(owner)
    home = client.get("/research/").content.decode()
    shipped = Codebook.objects.filter(owner=None)
    assert shipped.count() == 4
    for book in shipped:
        assert book.name in home
    cited = {
        "communication-failures": ["CooperBench", "Vague message", "Wrong expectation about teammate"],
        "team-process": ["Multi-Agent Teams Hold Experts Back", "Expert overridden", "Conformity"],
        "social-dilemma-cooperation": ["GovSim", "donor game", "Defects", "Justifies with fairness"],
        "leadership": ["TRENN", "Emergent leader", "Directive", "Supportive"],
    }
    for key, words in cited.items():
        page = client.get(f"/research/codebooks/{shipped.get(key=key).pk}/").content.decode()
        for word in words:
            assert word in page, (key, word)
        assert "<kbd>1</kbd>" in page and "Copy to edit" in page and ">Edit<" not in page


@pytest.mark.django_db
def test_create_edit_rename_retire_keep_labels_and_bump_the_version(client, owner):
    client.force_login(owner)
    response = client.post("/research/codebooks/new/", labels_post([
        {"name": "Agrees", "color": "#16a34a", "definition": "Says yes"},
        {"name": "Objects", "color": "#dc2626"}, {"name": ""}], multi_label="1"))
    book = Codebook.objects.get(owner=owner)
    assert response["Location"] == f"/research/codebooks/{book.pk}/"
    assert book.version == 1 and book.multi_label and [lab.name for lab in book.labels.all()] == ["Agrees", "Objects"]
    agrees, objects = book.labels.all()
    client.post(f"/research/codebooks/{book.pk}/edit/", labels_post([
        {"id": agrees.pk, "name": "Assents", "color": "#16a34a"},
        {"id": objects.pk, "name": "Objects", "color": "#dc2626", "retired": "1"},
        {"name": "Asks", "color": "#2563eb"}]))
    book.refresh_from_db()
    assert book.version == 2 and not book.multi_label
    agrees.refresh_from_db()
    objects.refresh_from_db()
    assert agrees.name == "Assents" and agrees.former_names == ["Agrees"]
    assert objects.retired and Label.objects.filter(codebook=book).count() == 3
    page = client.get(f"/research/codebooks/{book.pk}/").content.decode()
    assert "formerly Agrees" in page and "retired" in page and "v2" in page
    # a second edit from the refreshed form edits the current version
    form = client.get(f"/research/codebooks/{book.pk}/edit/").content.decode()
    assert 'value="Assents"' in form and "v2 → v3" in form


@pytest.mark.django_db
@pytest.mark.parametrize("rows, problem", [
    ([{"name": "A", "color": "red"}], "colour must look like #1a2b3c"),
    ([{"name": f"L{i}", "color": "#000000"} for i in range(10)], "at most 9 labels can be in use"),
    ([{"name": "Same", "color": "#000000"}, {"name": "same", "color": "#111111"}], "two labels are called"),
    ([{"name": "A\x00B", "color": "#000000"}], "the name contains a NUL character"),
    ([{"name": "x" * 81, "color": "#000000"}], "a name of 1 to 80 characters"),
    ([{"name": ""}], "at least one label"),
])
def test_bad_codebooks_are_refused_and_nothing_is_saved(client, owner, rows, problem):
    client.force_login(owner)
    response = client.post("/research/codebooks/new/", labels_post(rows))
    assert response.status_code == 400 and problem in response.content.decode()
    assert not Codebook.objects.filter(owner=owner).exists() and not Label.objects.filter(codebook__owner=owner).exists()


@pytest.mark.django_db
def test_json_export_and_import_and_copy(client, owner, outsider):
    client.force_login(owner)
    shipped = Codebook.objects.get(key="team-process")
    data = client.get(f"/research/codebooks/{shipped.pk}/export/").json()
    assert data["schema"] == "collab.codebook" and len(data["labels"]) == 4
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "team.json"
    response = client.post("/research/codebooks/import/", {"file": upload})
    mine = Codebook.objects.get(owner=owner)
    assert response["Location"] == f"/research/codebooks/{mine.pk}/"
    assert codebook_labels(mine) == codebook_labels(shipped) and mine.source == shipped.source
    again = client.get(f"/research/codebooks/{mine.pk}/export/").json()
    assert again["labels"] == data["labels"]
    bad = io.BytesIO(b'{"schema": "something else"}')
    bad.name = "bad.json"
    page = client.post("/research/codebooks/import/", {"file": bad}, follow=True).content.decode()
    assert "Codebook not imported: not a codebook file" in page and Codebook.objects.filter(owner=owner).count() == 1
    copy = client.post(f"/research/codebooks/{shipped.pk}/copy/")
    assert copy.status_code == 302 and Codebook.objects.filter(owner=owner).count() == 2
    copied = Codebook.objects.filter(owner=owner).latest("pk")
    assert (copied.source, copied.source_url) == (shipped.source, shipped.source_url) and copied.source_url
    # shipped codebooks are read-only; someone else's codebook is not even visible
    assert client.get(f"/research/codebooks/{shipped.pk}/edit/").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/research/codebooks/{mine.pk}/").status_code == 404
    assert client.post(f"/research/codebooks/{mine.pk}/edit/", labels_post([{"name": "X", "color": "#000000"}])).status_code == 404


def codebook_labels(book):
    return [(lab.name, lab.color, lab.definition, lab.example) for lab in book.labels.all()]


def post_codebook(client, data: bytes, name="codes.json"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post("/research/codebooks/import/", {"file": upload}, follow=True).content.decode()


@pytest.mark.django_db
def test_renamed_labels_keep_former_names_through_export_and_import(client, owner):
    client.force_login(owner)
    client.post("/research/codebooks/new/", labels_post([{"name": "Agree", "color": "#111111"}], name="Renames"))
    book = Codebook.objects.get(owner=owner, name="Renames")
    label = book.labels.get()
    client.post(f"/research/codebooks/{book.pk}/edit/",
                labels_post([{"id": label.pk, "name": "Support", "color": "#111111"}], name="Renames"))
    data = client.get(f"/research/codebooks/{book.pk}/export/").json()
    assert data["labels"][0]["former_names"] == ["Agree"]
    page = post_codebook(client, json.dumps(data).encode())
    assert "Imported codebook Renames (imported 2)" in page
    copy = Codebook.objects.get(owner=owner, name="Renames (imported 2)")
    assert copy.labels.get().former_names == ["Agree"]
    assert client.get(f"/research/codebooks/{copy.pk}/export/").json()["labels"] == data["labels"]
    post_codebook(client, json.dumps(data).encode())
    assert Codebook.objects.filter(owner=owner, name="Renames (imported 3)").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("data, problem", [
    (b"", "the file is empty"),
    (b"  \n", "the file is empty"),
    (json.dumps({"schema": "collab.codebook", "name": "Bad\u0000name", "labels": [{"name": "A"}]}).encode(),
     "the name contains a NUL character"),
    (json.dumps({"schema": "collab.codebook", "name": "Fine", "labels": [{"name": "A", "former_names": [3]}]}).encode(),
     "label &#x27;A&#x27;: former_names must be a list of names"),
])
def test_codebook_import_refusals_say_what_is_wrong(client, owner, data, problem):
    client.force_login(owner)
    page = post_codebook(client, data)
    assert f"Codebook not imported: {problem}" in page
    assert not Codebook.objects.filter(owner=owner).exists()
