"""The team builder: teams from presets, the role formset, ownership, escaping and model profiles."""

import pytest

from collab.teams.forms import CUSTOM_SERVER_KEY
from collab.teams.models import ModelProfile, Role, Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset

ROLE_DEFAULTS = {"persona": "", "goals": "", "expertise": "", "color": "#4f46e5", "avatar": "",
                 "model_profile": "", "temperature": "", "strength": "1"}


def team_post(name="Crew", description="", roles=(), initial=0, **extra):
    """The POST body of the team form; roles are dicts of RoleForm fields (plus id, ORDER, DELETE)."""
    data = {
        "name": name, "description": description, "save": "1",
        "roles-TOTAL_FORMS": str(len(roles)), "roles-INITIAL_FORMS": str(initial),
        "roles-MIN_NUM_FORMS": "0", "roles-MAX_NUM_FORMS": "1000",
    }
    for i, role in enumerate(roles):
        values = {**ROLE_DEFAULTS, **role}
        if values.get("DELETE") in (False, None):
            values.pop("DELETE", None)
        for key, value in values.items():
            data[f"roles-{i}-{key}"] = "" if value is None else str(value)
    data.update(extra)
    return data


def existing_roles(team, **changes_by_name):
    """The POST rows for a team's current roles, in order, with per-name changes."""
    rows = []
    for position, role in enumerate(team.roles.order_by("order", "id"), start=1):
        row = {"id": role.pk, "team": team.pk, "name": role.name, "persona": role.persona, "goals": role.goals,
               "expertise": role.expertise, "color": role.color, "avatar": role.avatar,
               "strength": role.strength, "ORDER": position}
        row.update(changes_by_name.get(role.name, {}))
        rows.append(row)
    return rows


def role_names(team):
    return list(team.roles.order_by("order", "id").values_list("name", flat=True))


@pytest.fixture
def team(owner):
    return team_create_from_preset(preset_key="self_collab_coding", owner=owner)  # analyst, coder, tester


def test_list_shows_teams_presets_and_actions(client, owner, team):
    client.force_login(owner)
    page = client.get("/teams/").content.decode()
    assert team.name in page
    assert f'href="/teams/{team.pk}/edit/"' in page
    assert f'href="/sessions/new/?team={team.pk}"' in page and "Start a session" in page
    assert f'action="/teams/{team.pk}/delete/"' in page
    assert 'href="/teams/new/"' in page
    assert "--role-color: #22c55e" in page  # the coder's chip
    for preset in PRESETS.values():
        assert preset.title in page and f'action="/teams/presets/{preset.key}/"' in page
    assert page.count("Use this preset") == len(PRESETS)


def test_login_required(client):
    response = client.get("/teams/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_create_from_preset(client, owner):
    client.force_login(owner)
    response = client.post("/teams/presets/team_of_rivals/")
    team = Team.objects.get(owner=owner, preset="team_of_rivals")
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.pk}/edit/"
    assert role_names(team) == [r["name"] for r in PRESETS["team_of_rivals"].roles]
    page = client.get(response["Location"]).content.decode()
    assert 'value="planner"' in page and 'value="critic"' in page
    # Twice: a second team with a fresh name, not an error.
    client.post("/teams/presets/team_of_rivals/")
    assert Team.objects.filter(owner=owner, preset="team_of_rivals").count() == 2
    assert client.post("/teams/presets/no_such_preset/").status_code == 404
    assert client.get("/teams/presets/team_of_rivals/").status_code == 405


def test_new_page_has_one_empty_role_and_autofocus(client, owner):
    client.force_login(owner)
    response = client.get("/teams/new/")
    page = response.content.decode()
    assert response.context["formset"].total_form_count() == 1
    assert 'name="name"' in page and "autofocus" in page
    assert 'type="color"' in page and 'name="add_role"' in page
    assert 'id="role-template"' in page and "roles-__prefix__-name" in page
    assert '<label for="id_roles-0-name">' in page


def test_create_new_team_with_three_roles(client, owner):
    client.force_login(owner)
    response = client.post("/teams/new/", team_post("Writers' room", "Three voices", roles=[
        {"name": "lead", "persona": "You lead.", "color": "#112233", "avatar": "🎬", "strength": "3"},
        {"name": "editor", "persona": "You edit.", "temperature": "0.2", "expertise": "style"},
        {"name": "fact checker", "goals": "No errors."},
    ]))
    team = Team.objects.get(owner=owner, name="Writers' room")
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.pk}/edit/"
    assert team.description == "Three voices"
    assert role_names(team) == ["lead", "editor", "fact checker"]
    assert list(team.roles.order_by("order").values_list("order", flat=True)) == [0, 1, 2]
    lead, editor = team.roles.get(name="lead"), team.roles.get(name="editor")
    assert (lead.color, lead.avatar, lead.strength, lead.temperature) == ("#112233", "🎬", 3, None)
    assert editor.temperature == 0.2 and editor.expertise == "style"


def test_untouched_empty_role_is_ignored(client, owner):
    client.force_login(owner)
    client.post("/teams/new/", team_post("Solo", roles=[{"name": "only"}, {}]))
    assert role_names(Team.objects.get(name="Solo")) == ["only"]


def test_reorder_via_order(client, owner, team):
    client.force_login(owner)
    rows = existing_roles(team, analyst={"ORDER": 3}, coder={"ORDER": 1}, tester={"ORDER": 2})
    response = client.post(f"/teams/{team.pk}/edit/", team_post(team.name, roles=rows, initial=3))
    assert response.status_code == 302
    assert role_names(team) == ["coder", "tester", "analyst"]
    assert sorted(team.roles.values_list("order", flat=True)) == [0, 1, 2]
    # The edit page lists them in the new order.
    page = client.get(f"/teams/{team.pk}/edit/").content.decode()
    assert page.index('value="coder"') < page.index('value="tester"') < page.index('value="analyst"')


def test_delete_a_role_via_delete(client, owner, team):
    client.force_login(owner)
    rows = existing_roles(team, coder={"DELETE": "on"})
    response = client.post(f"/teams/{team.pk}/edit/", team_post(team.name, roles=rows, initial=3))
    assert response.status_code == 302
    assert role_names(team) == ["analyst", "tester"]


def test_swap_two_role_names_and_reuse_a_removed_name(client, owner, team):
    client.force_login(owner)
    rows = existing_roles(team, analyst={"name": "coder"}, coder={"name": "analyst"}, tester={"DELETE": "on"})
    rows.append({"name": "tester", "persona": "The new tester."})
    response = client.post(f"/teams/{team.pk}/edit/", team_post(team.name, roles=rows, initial=3))
    assert response.status_code == 302
    assert role_names(team) == ["coder", "analyst", "tester"]
    assert team.roles.get(name="tester").persona == "The new tester."


def test_cannot_remove_every_role(client, owner, team):
    client.force_login(owner)
    rows = existing_roles(team, analyst={"DELETE": "on"}, coder={"DELETE": "on"}, tester={"DELETE": "on"})
    response = client.post(f"/teams/{team.pk}/edit/", team_post(team.name, roles=rows, initial=3))
    assert response.status_code == 200
    assert "A team needs at least one role" in response.content.decode()
    assert role_names(team) == ["analyst", "coder", "tester"]


def test_duplicate_role_names_give_an_inline_error_and_keep_input(client, owner):
    client.force_login(owner)
    response = client.post("/teams/new/", team_post("Twins", "Two of a kind", roles=[
        {"name": "critic", "persona": "First critic persona."},
        {"name": "Critic", "persona": "Second critic persona, typed with care."},
    ]))
    assert response.status_code == 200
    assert not Team.objects.filter(name="Twins").exists()
    forms = response.context["formset"].forms
    assert not forms[0].errors
    assert "already called “critic”" in forms[1].errors["name"][0]
    page = response.content.decode()
    # The error sits next to the field it is about, and everything typed is still there.
    assert 'id="id_roles-1-name_error"' in page and "already called “critic”" in page
    assert 'aria-invalid="true"' in page
    for typed in ('value="Twins"', "Two of a kind", 'value="critic"', 'value="Critic"',
                  "First critic persona.", "Second critic persona, typed with care."):
        assert typed in page


def test_team_name_unique_per_owner(client, owner, outsider, team):
    client.force_login(owner)
    response = client.post("/teams/new/", team_post(team.name, roles=[{"name": "x"}]))
    assert response.status_code == 200
    assert "You already have a team called" in response.content.decode()
    assert Team.objects.filter(owner=owner, name=team.name).count() == 1
    # Renaming another team to a taken name: the same error; keeping its own name is fine.
    other = team_create_from_preset(preset_key="debate_panel", owner=owner)
    response = client.post(f"/teams/{other.pk}/edit/", team_post(team.name, roles=existing_roles(other), initial=3))
    page = response.content.decode()
    assert "You already have a team called" in page
    assert f"Teams</a> / {other.name}</p>" in page  # the page still names the team as saved
    response = client.post(f"/teams/{other.pk}/edit/", team_post(other.name, roles=existing_roles(other), initial=3))
    assert response.status_code == 302
    # Another user may use the same name.
    client.force_login(outsider)
    assert client.post("/teams/new/", team_post(team.name, roles=[{"name": "x"}])).status_code == 302


def test_invalid_colour_rejected(client, owner):
    client.force_login(owner)
    for colour in ("red", "#12345", "#12345g", "#1234567"):
        response = client.post("/teams/new/", team_post("Colours", roles=[{"name": "painter", "color": colour}]))
        assert response.status_code == 200
        assert "Give the colour as #rrggbb" in str(response.context["formset"].forms[0].errors["color"])
    assert not Team.objects.filter(name="Colours").exists()
    client.post("/teams/new/", team_post("Colours", roles=[{"name": "painter", "color": "#AABBCC"}]))
    assert Team.objects.get(name="Colours").roles.get().color == "#aabbcc"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("temperature", "2.5", "less than or equal to 2"),
    ("temperature", "-0.1", "greater than or equal to 0"),
    ("avatar", "ABCDEFGHI", "at most 8 characters"),
    ("name", "", "Give the role a name."),
])
def test_role_field_limits(client, owner, field, value, message):
    client.force_login(owner)
    response = client.post("/teams/new/", team_post("Limits", roles=[{"name": "r", "goals": "g", field: value}]))
    assert response.status_code == 200
    assert message in str(response.context["formset"].forms[0].errors[field])
    assert not Team.objects.filter(name="Limits").exists()


def test_add_role_without_javascript_keeps_input_and_shows_no_errors(client, owner):
    client.force_login(owner)
    data = team_post("", "Half typed", roles=[{"name": "scout", "persona": "You look ahead."}], add_role="1")
    del data["save"]
    response = client.post("/teams/new/", data)
    assert response.status_code == 200 and not Team.objects.exists()
    formset = response.context["formset"]
    assert formset.total_form_count() == 2
    page = response.content.decode()
    assert 'value="scout"' in page and "You look ahead." in page and "Half typed" in page
    assert 'name="roles-TOTAL_FORMS" value="2"' in page
    assert "errorlist" not in page and 'aria-invalid="true"' not in page
    # Saving now: the untouched new role is dropped, the rest is kept.
    data = team_post("Scouts", "Half typed", roles=[{"name": "scout"}, {"ORDER": "2"}])
    assert client.post("/teams/new/", data).status_code == 302
    assert role_names(Team.objects.get(name="Scouts")) == ["scout"]


def test_outsider_gets_404_on_edit_and_delete(client, owner, outsider, team):
    client.force_login(outsider)
    assert client.get(f"/teams/{team.pk}/edit/").status_code == 404
    rows = existing_roles(team, coder={"name": "hijacked"})
    assert client.post(f"/teams/{team.pk}/edit/", team_post("Mine now", roles=rows, initial=3)).status_code == 404
    assert client.post(f"/teams/{team.pk}/delete/").status_code == 404
    assert f"/teams/{team.pk}/" not in client.get("/teams/").content.decode()
    team.refresh_from_db()
    assert team.name == PRESETS["self_collab_coding"].title and "hijacked" not in role_names(team)


def test_role_ids_of_another_team_are_refused(client, owner, outsider, team):
    theirs = team_create_from_preset(preset_key="capo_planners", owner=outsider)
    mine = team_create_from_preset(preset_key="debate_panel", owner=owner)
    client.force_login(owner)
    rows = existing_roles(mine)
    rows[0]["id"] = theirs.roles.first().pk
    rows[0]["name"] = "stolen"
    response = client.post(f"/teams/{mine.pk}/edit/", team_post(mine.name, roles=rows, initial=3))
    assert response.status_code == 200
    assert "Some roles changed since this page was loaded" in response.content.decode()
    assert not Role.objects.filter(name="stolen").exists()
    assert role_names(theirs) == ["alice", "bob"] and role_names(mine) == ["optimist", "skeptic", "pragmatist"]


def test_delete_team(client, owner, team):
    client.force_login(owner)
    assert client.get(f"/teams/{team.pk}/delete/").status_code == 405
    response = client.post(f"/teams/{team.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/teams/"
    assert not Team.objects.filter(pk=team.pk).exists() and not Role.objects.filter(team_id=team.pk).exists()


def test_xss_team_name_is_escaped_on_the_list(client, owner):
    client.force_login(owner)
    evil = "<script>alert(1)</script>"
    response = client.post("/teams/new/", team_post(evil, evil, roles=[
        {"name": f"r{evil}", "persona": f"**bold** {evil}", "avatar": "<b>", "color": "#000000"}]))
    assert response.status_code == 302
    page = client.get("/teams/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert evil not in page and "<b>" not in page
    assert "<strong>bold</strong>" in page  # personas go through the sanitizing Markdown filter
    edit = client.get(response["Location"]).content.decode()
    assert evil not in edit


def test_model_profile_list_and_create(client, owner):
    owner.is_staff = True  # a key sent to a server of one's choosing: staff only
    owner.save()
    client.force_login(owner)
    page = client.get("/teams/models/").content.decode()
    assert "raw keys are never stored" in page
    response = client.post("/teams/models/", {
        "name": "local llama", "provider": "openai", "base_url": "http://127.0.0.1:8080/v1", "model": "llama3",
        "api_key_env": "LOCAL_LLM_KEY", "temperature": "0.3", "max_tokens": "256", "timeout_seconds": "30"})
    assert response.status_code == 302 and response["Location"] == "/teams/models/"
    profile = ModelProfile.objects.get(name="local llama")
    assert (profile.api_key_env, profile.temperature, profile.max_tokens) == ("LOCAL_LLM_KEY", 0.3, 256)
    page = client.get("/teams/models/").content.decode()
    assert "local llama" in page and "LOCAL_LLM_KEY" in page
    # It can be picked for a role.
    assert "local llama" in client.get("/teams/new/").content.decode()


def test_model_profile_refuses_a_key_in_api_key_env(client, owner):
    client.force_login(owner)
    response = client.post("/teams/models/", {
        "name": "leaky", "provider": "openai", "base_url": "", "model": "gpt-4o-mini",
        "api_key_env": "sk-abc123", "temperature": "0.7", "max_tokens": "512", "timeout_seconds": "60"})
    assert response.status_code == 200
    assert not ModelProfile.objects.filter(name="leaky").exists()
    page = response.content.decode()
    message = "Give the NAME of an environment variable (like OPENAI_API_KEY), never the key itself."
    assert message in page
    assert response.context["form"].errors["api_key_env"] == [message]
    assert "sk-abc123" not in page  # what looked like a key is not echoed back
    assert 'value="leaky"' in page  # the rest of the input is kept


def profile_post(**kw) -> dict:
    return {"name": "mine", "provider": "openai", "base_url": "", "model": "llama3", "api_key_env": "",
            "temperature": "0.7", "max_tokens": "512", "timeout_seconds": "60", **kw}


def test_only_staff_send_a_key_to_a_server_of_their_choosing(client, owner):
    """Otherwise anyone signed up could name OPENAI_API_KEY and their own URL, and read the key off the wire."""
    client.force_login(owner)
    response = client.post("/teams/models/", profile_post(base_url="http://attacker.example/v1",
                                                          api_key_env="OPENAI_API_KEY"))
    assert response.status_code == 200 and not ModelProfile.objects.exists()
    assert response.context["form"].errors["api_key_env"] == [CUSTOM_SERVER_KEY]
    assert 'value="http://attacker.example/v1"' in response.content.decode()  # the rest of the input is kept
    # A keyless server of one's own, or a key for the configured server, are fine.
    assert client.post("/teams/models/", profile_post(name="local", base_url="http://127.0.0.1:8080/v1")).status_code == 302
    assert client.post("/teams/models/", profile_post(name="configured", api_key_env="OPENAI_API_KEY")).status_code == 302
    assert set(ModelProfile.objects.values_list("name", flat=True)) == {"local", "configured"}


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_collabs_own_settings_are_never_a_model_key(client, owner, name):
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    response = client.post("/teams/models/", profile_post(api_key_env=name))
    assert response.status_code == 200 and not ModelProfile.objects.exists()
    assert "holds one of collab's own settings" in response.context["form"].errors["api_key_env"][0]


def test_first_invalid_field_gets_the_focus(client, owner):
    client.force_login(owner)
    response = client.post("/teams/new/", team_post("Focus", roles=[{"name": "ok"}, {"name": "bad", "color": "x"}]))
    assert response.context["form"].fields["name"].widget.attrs.get("autofocus") is None
    assert response.context["formset"].forms[1].fields["color"].widget.attrs.get("autofocus") is True


def test_every_role_on_the_page_has_its_position_so_the_typed_order_is_kept(client, owner):
    """The first, empty role of a new team used to have no position and sort after the roles added below it."""
    import re

    client.force_login(owner)
    page = client.get("/teams/new/").content.decode()
    assert re.search(r'name="roles-0-ORDER" value="1"', page)
    data = team_post("Alphabet", roles=[{"name": "A", "ORDER": "1"}], add_role="1")
    del data["save"]
    page = client.post("/teams/new/", data).content.decode()
    assert re.search(r'name="roles-1-ORDER" value="2"', page)  # numbered after the existing role
    client.post("/teams/new/", team_post("Alphabet", roles=[
        {"name": "A", "ORDER": "1"}, {"name": "B", "ORDER": "2"}, {"name": "C", "ORDER": "3"}]))
    team = Team.objects.get(name="Alphabet")
    assert role_names(team) == ["A", "B", "C"]
    page = client.get(f"/teams/{team.pk}/edit/").content.decode()
    assert [m for m in re.findall(r'name="roles-\d-ORDER" value="(\d)"', page)] == ["1", "2", "3"]
