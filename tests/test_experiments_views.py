"""The experiments pages: who may see and do what, the form, cancel and
re-run, failures with their reason, runs cut short left out of aggregates."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from collab.experiments import results, services
from collab.experiments.models import Experiment, Run
from collab.llm.fake_server import FakeServerConfig, run_in_thread
from collab.sessions.models import Session
from tests.engine_helpers import fake_profile, wait_until

MAZE = "title: Maze\nbase: {preset: maze_pair}\ngrid: {params.mode: [solo, pair]}\nseeds: 2\n"


def started(owner, text=MAZE):
    experiment = services.experiment_create(owner=owner, text=text)
    return services.experiment_start(experiment=experiment, user=owner, schedule=False)


@pytest.fixture
def staff(db):
    return User.objects.create_user("staff", password="staff-pass-123", is_staff=True)


READS = ["experiment_detail", "experiment_progress", "experiment_runs_csv", "experiment_aggregates_csv",
         "experiment_manifest"]
ACTS = ["experiment_cancel", "experiment_rerun"]


@pytest.mark.django_db
def test_permissions_on_every_experiment_url(client, owner, outsider, staff):
    experiment = started(owner)
    for name in READS + ACTS:
        url = reverse(name, args=[experiment.pk])
        method = client.post if name in ACTS else client.get
        client.logout()
        anonymous = method(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/"), name
        client.force_login(outsider)
        assert method(url).status_code == 404, name
        client.force_login(staff)
        assert method(url).status_code == (404 if name in ACTS else 200), name
    # Lists and the form need a login; each person sees only their own experiments.
    for name in ["experiment_list", "experiment_new"]:
        client.logout()
        assert client.get(reverse(name)).status_code == 302
    client.force_login(outsider)
    assert "Maze" not in client.get(reverse("experiment_list")).content.decode()
    client.force_login(owner)
    assert "Maze" in client.get(reverse("experiment_list")).content.decode()
    assert client.get(reverse("experiment_new")).status_code == 200
    for name in READS:
        assert client.get(reverse(name, args=[experiment.pk])).status_code == 200, name
    assert client.post(reverse("experiment_cancel", args=[experiment.pk])).status_code == 302
    assert client.post(reverse("experiment_rerun", args=[experiment.pk])).status_code == 302
    assert client.get(reverse("experiment_detail", args=[experiment.pk + 99])).status_code == 404
    # Nothing an outsider or staff did changed the experiment; the owner's cancel and re-run did.
    assert Run.objects.filter(experiment=experiment, attempt=2, status="pending").count() == 4


@pytest.mark.django_db
def test_the_form_starts_a_quick_grid_and_refuses_bad_input(client, owner):
    client.force_login(owner)
    response = client.post(reverse("experiment_new"), {"preset": "maze_pair", "vary": "mode", "values": "solo, pair",
                                                       "seeds": 3, "repetitions": 1})
    experiment = Experiment.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("experiment_detail", args=[experiment.pk])
    assert experiment.status == "running" and experiment.title == "Maze pair: mode"
    assert [c["label"] for c in experiment.spec["conditions"]] == ["params.mode=solo", "params.mode=pair"]
    assert experiment.runs.count() == 6
    page = client.get(response["Location"]).content.decode()
    assert "0 of 6 runs done" in page and 'hx-trigger="every 2s"' in page

    bad = client.post(reverse("experiment_new"), {"definition": "title: t\nbase: {preset: maze_pair}\nseeds: 0",
                                                  "seeds": 1, "repetitions": 1})
    assert bad.status_code == 400 and "seeds: must be from 1 to 1000, got 0" in bad.content.decode()
    nul = client.post(reverse("experiment_new"), {"definition": "title: \x00", "seeds": 1, "repetitions": 1})
    assert nul.status_code == 400
    wrong_type = client.post(reverse("experiment_new"), {"preset": "maze_pair", "seeds": "many", "repetitions": 1})
    assert wrong_type.status_code == 400 and "Enter a whole number" in wrong_type.content.decode()
    no_preset = client.post(reverse("experiment_new"), {"seeds": 2, "repetitions": 1})
    assert no_preset.status_code == 400 and "Choose a preset, or write a definition." in no_preset.content.decode()
    big = client.post(reverse("experiment_new"), {"definition": "x" * 1_000_000, "seeds": 1, "repetitions": 1})
    assert big.status_code == 400 and "at most 200,000" in big.content.decode()
    assert Experiment.objects.count() == 1


@pytest.mark.django_db
def test_cancel_then_rerun_the_cancelled_cells(client, owner):
    experiment = started(owner)
    client.force_login(owner)
    client.post(reverse("experiment_cancel", args=[experiment.pk]))
    experiment.refresh_from_db()
    assert experiment.status == "cancelled"
    assert set(experiment.runs.values_list("status", flat=True)) == {"cancelled"}
    page = client.get(reverse("experiment_detail", args=[experiment.pk])).content.decode()
    assert "Re-run failed cells (4)" in page and 'hx-trigger="every 2s"' not in page
    again = client.post(reverse("experiment_cancel", args=[experiment.pk]), follow=True)
    assert "already cancelled" in again.content.decode()
    client.post(reverse("experiment_rerun", args=[experiment.pk]))
    experiment.refresh_from_db()
    assert experiment.status == "running"
    assert set(experiment.runs.values_list("status", "attempt")) == {("pending", 2)}


@pytest.mark.django_db(transaction=True)
def test_runs_cut_short_are_marked_and_left_out_unless_asked(owner, client):
    experiment = started(owner, "title: Short\nbase: {preset: maze_pair}\ngrid: {max_turns: [2, 200]}\nseeds: 2\n")
    Experiment.objects.filter(pk=experiment.pk).update(status="draft")
    experiment = services.experiment_run_inline(experiment=Experiment.objects.get(pk=experiment.pk), user=owner)
    statuses = dict(set(experiment.runs.values_list("condition_index", "status")))
    assert statuses == {0: "incomplete", 1: "complete"}
    short = experiment.runs.filter(condition_index=0).first()
    assert short.ended_by == "max_turns" and short.reason.startswith("cut short: max turns reached (2)")
    default = {(r["condition"], r["metric"]): r["n"] for r in results.aggregates(experiment)}
    asked = {(r["condition"], r["metric"]): r["n"] for r in results.aggregates(experiment, include_incomplete=True)}
    assert default[(1, "turns")] == 0 and default[(2, "turns")] == 2
    assert asked[(1, "turns")] == 2
    client.force_login(owner)
    csv_default = client.get(reverse("experiment_aggregates_csv", args=[experiment.pk])).content.decode()
    csv_asked = client.get(reverse("experiment_aggregates_csv", args=[experiment.pk]) + "?incomplete=1").content.decode()
    assert "1,max_turns=2,turns,0," in csv_default and "1,max_turns=2,turns,2," in csv_asked
    page = client.get(reverse("experiment_detail", args=[experiment.pk])).content.decode()
    assert "Cut short</strong>, condition 1, seed 0: cut short: max turns reached (2)" in page
    manifest = client.get(reverse("experiment_manifest", args=[experiment.pk])).json()
    assert [r["complete"] for r in manifest["runs"]] == [False, False, True, True]


@pytest.mark.django_db(transaction=True)
def test_a_failing_model_fails_its_cell_with_the_reason_and_rerun_completes_it(owner, worker, client):
    with run_in_thread(FakeServerConfig(failures=["500"] * 40)) as server:
        profile = fake_profile(server, owner=owner)
        experiment = services.experiment_create(owner=owner, text=(
            f"title: Flaky\nbase: {{preset: debate_panel, provider: openai, model_profile: '{profile.name}', "
            "protocol_params: {rounds: 1}}\nseeds: 1\n"))
        services.experiment_start(experiment=experiment, user=owner)
        wait_until(lambda: Experiment.objects.get(pk=experiment.pk).status == "finished", timeout=120,
                   what="the experiment to give up on its cell")
        run = Run.objects.get(experiment=experiment)
        assert run.status == "failed" and run.reason.startswith("paused: ") and "500" in run.reason
        client.force_login(owner)
        page = client.get(reverse("experiment_detail", args=[experiment.pk])).content.decode()
        assert "Failed</strong>, condition 1, seed 0: paused:" in page
        first_session = run.session_id
        server.config.failures.clear()
        client.post(reverse("experiment_rerun", args=[experiment.pk]))
        wait_until(lambda: Experiment.objects.get(pk=experiment.pk).status == "finished", timeout=120,
                   what="the re-run to finish")
    run.refresh_from_db()
    assert run.status == "complete" and run.attempt == 2 and run.session_id != first_session
    assert Session.objects.get(pk=first_session).status == "paused"  # the failed attempt stays for the record
    assert run.tokens > 0
