"""The instructor's score form on a design-review session: it shows the
scores and comments saved last, an edit survives a second edit, and bad input
is refused with a clear message and writes nothing."""

import re

import pytest

from collab.engine.runner import inline, run_inline
from collab.sessions import services
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def judged(owner):
    """A senior-design panel run to its end: the proposal is in and the judge has scored it."""
    preset = PRESETS["senior_design_panel"]
    team = team_create_from_preset(preset_key=preset.key, owner=owner)
    session = services.session_create(owner=owner, team=team, protocol=preset.protocol,
                                      protocol_params=preset.protocol_params, max_turns=preset.max_turns)
    with inline():
        services.session_start(session=session, user=owner)
        return run_inline(session.pk)


def criteria(session) -> list[str]:
    return [c["name"] for c in session.state["protocol"]["params"]["rubric"]]


def shown(page: str, session) -> dict[str, tuple[int, str]]:
    """criterion -> (selected level, comment) as the form shows them."""
    out = {}
    for i, name in enumerate(criteria(session), 1):
        select = re.search(rf'<select id="score-{i}"[^>]*>(.*?)</select>', page, re.S).group(1)
        level = re.search(r'<option value="(\d+)" selected>', select)
        comment = re.search(rf'<textarea id="score-comment-{i}"[^>]*>(.*?)</textarea>', page, re.S).group(1)
        out[name] = (int(level.group(1)) if level else 0, comment)
    return out


def post_scores(client, session, levels: dict, comments: dict, follow=True):
    data = {f"score:{k}": v for k, v in levels.items()} | {f"comment:{k}": v for k, v in comments.items()}
    return client.post(f"/sessions/{session.pk}/score/", data, follow=follow)


def test_the_form_shows_what_was_saved_and_an_edit_survives_a_second_edit(client, owner, judged):
    names = criteria(judged)
    client.force_login(owner)
    page = client.get(f"/sessions/{judged.pk}/").content.decode()
    assert all(v == (0, "") for v in shown(page, judged).values())

    first_levels = dict(zip(names, [3, 2, 1, 2], strict=True))
    first_comments = {names[0]: "Clear need & users <named>.", names[1]: "Costed.", names[2]: "", names[3]: ""}
    response = post_scores(client, judged, first_levels, first_comments)
    page = response.content.decode()
    assert "Scores saved." in page
    assert shown(page, judged) == {n: (first_levels[n], {0: "Clear need &amp; users &lt;named&gt;.",
                                                          1: "Costed."}.get(i, "")) for i, n in enumerate(names)}

    # A second edit: one level and one comment changed, the rest posted back as the form showed them.
    second_levels = {**first_levels, names[2]: 3}
    second_comments = {**first_comments, names[1]: "Costed, but no maintenance plan."}
    page = post_scores(client, judged, second_levels, second_comments).content.decode()
    assert shown(page, judged)[names[2]] == (3, "")
    assert shown(page, judged)[names[1]] == (2, "Costed, but no maintenance plan.")
    assert shown(page, judged)[names[0]] == (3, "Clear need &amp; users &lt;named&gt;.")
    judged.refresh_from_db()
    state = judged.state["protocol"]
    assert state["scores"]["owner"] == second_levels
    assert state["comments"]["owner"] == {names[0]: "Clear need & users <named>.",
                                          names[1]: "Costed, but no maintenance plan."}
    latest = judged.events.filter(kind="scenario_state").order_by("-seq").first().payload
    assert latest["metrics"]["rubric_comments"]["owner"][names[1]] == "Costed, but no maintenance plan."
    assert set(latest["metrics"]["rubric_scores"]) == {"Faculty Judge", "owner"}


@pytest.mark.parametrize("levels, comments, message", [
    ({}, {0: "a\x00b"}, "contains a NUL character"),
    ({}, {0: "x" * 1_000_000}, "is 1,000,000 characters; at most 2,000"),
    ({1: "high"}, {}, "must be a level index from 0 to 3, got &#x27;high&#x27;"),
    ({1: "9"}, {}, "must be a level index from 0 to 3, got 9"),
])
def test_bad_scores_and_comments_are_refused_and_write_nothing(client, owner, judged, levels, comments, message):
    names = criteria(judged)
    client.force_login(owner)
    before = (judged.last_seq, judged.state)
    page = post_scores(client, judged, {names[i]: v for i, v in ({0: 1, 1: 1, 2: 1, 3: 1} | levels).items()},
                       {names[i]: v for i, v in comments.items()}).content.decode()
    assert message in page and "Scores saved." not in page
    judged.refresh_from_db()
    assert (judged.last_seq, judged.state) == before


def test_a_comment_on_an_unknown_criterion_is_refused(owner, judged):
    from collab.sessions.permissions import Refused

    names = criteria(judged)
    with pytest.raises(Refused, match="comments on unknown criteria Style"):
        services.session_score(session=judged, user=owner, scores=dict.fromkeys(names, 1), comments={"Style": "ok"})
    with pytest.raises(Refused, match="comments must map criterion names to text"):
        services.session_score(session=judged, user=owner, scores=dict.fromkeys(names, 1), comments=["ok"])
