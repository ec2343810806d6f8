"""A `?seq=` link to an event the transcript's filters hide: the page says
so, links back to the filtered view, and its pager pages through what it
shows (no filters) rather than the filtered list."""

import re

import pytest

from tests.research_helpers import run_session

pytestmark = pytest.mark.django_db(transaction=True)


def pager(page: str) -> dict[str, str]:
    return {text: href.replace("&amp;", "&") for href, text in re.findall(
        r'<a class="btn btn-sm btn-ghost" href="\?([^"]*)">(← Earlier|Later →)</a>', page)}


def test_seq_hidden_by_filters_is_shown_with_a_notice_and_a_consistent_pager(client, owner):
    session = run_session(owner, pad_to=330, title="Long")
    target = session.events.filter(seq__gte=250).exclude(actor="analyst").order_by("seq").first().seq
    client.force_login(owner)
    url = f"/sessions/{session.pk}/transcript/"
    page = client.get(f"{url}?role=analyst&kind=message&seq={target}").content.decode()
    assert f"#{target} is hidden by your filters; showing it without them." in page
    assert 'href="?role=analyst&amp;kind=message">Back to the filtered view</a>' in page
    assert f'id="ev-{target}"' in page and 'class="tx-row is-target"' in page
    links = pager(page)
    number = (target - 1) // 100 + 1
    assert links == {"← Earlier": f"page={number - 1}", "Later →": f"page={number + 1}"}
    # The filter form shows what is applied: nothing.
    assert '<option value="analyst" selected>' not in page

    # Following the pager stays unfiltered, and the way back restores the filters.
    later = client.get(f"{url}?{links['Later →']}").content.decode()
    assert "hidden by your filters" not in later and f"Page {number + 1} of 4" in later
    filtered = client.get(f"{url}?role=analyst&kind=message").content.decode()
    assert '<option value="analyst" selected>' in filtered and "hidden by your filters" not in filtered


def test_seq_the_filters_keep_stays_filtered_without_a_notice(client, owner):
    session = run_session(owner, pad_to=330, title="Long")
    target = session.events.filter(seq__gte=250, kind="message").order_by("seq").first().seq
    client.force_login(owner)
    page = client.get(f"/sessions/{session.pk}/transcript/?kind=message&seq={target}").content.decode()
    assert "hidden by your filters" not in page and '<option value="message" selected>' in page
    links = pager(page)
    assert links and all(href.startswith("kind=message&page=") for href in links.values())
