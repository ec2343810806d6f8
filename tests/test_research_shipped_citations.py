"""The shipped codebooks cite their papers with authors, year and a link,
and databases made before that get the citations from a data migration."""

import importlib

import pytest
from django.apps import apps

from collab.research import codebooks
from collab.research.models import Codebook

pytestmark = pytest.mark.django_db

CITED = {
    "communication-failures": ("Khatua, Zhu et al. (2026)", "https://arxiv.org/abs/2601.13295"),
    "team-process": ("Pappu et al. (2026)", "https://arxiv.org/abs/2602.01011"),
    "social-dilemma-cooperation": ("Vallinder &amp; Hughes (2024)", "https://arxiv.org/abs/2404.16698"),
    "leadership": ("De Luca, Varni &amp; Passerini (2025)", "https://arxiv.org/abs/2507.13305"),
}


def test_shipped_codebooks_link_their_papers(client, owner):
    codebooks.ensure_shipped()
    client.force_login(owner)
    for key, (authors, url) in CITED.items():
        book = Codebook.objects.get(key=key, owner=None)
        assert book.source_url == url
        page = client.get(f"/research/codebooks/{book.pk}/").content.decode()
        assert authors in page and f'<a href="{url}" rel="noopener">' in page


def test_the_data_migration_fills_in_rows_made_before():
    codebooks.ensure_shipped()
    Codebook.objects.filter(owner=None).update(source_url="", source="CooperBench")
    migration = importlib.import_module("collab.research.migrations.0003_shipped_codebook_citations")
    migration.refresh(apps, None)
    assert {b.key: b.source_url for b in Codebook.objects.filter(owner=None)} == {k: u for k, (_, u) in CITED.items()}
    assert Codebook.objects.get(key="communication-failures").source.startswith("Khatua, Zhu et al. (2026)")
