"""Thin doors over the experiments services and results. Who may see and do
what is decided in `_experiment` alone: the owner does everything, staff may
look, everyone else gets a 404 (an experiment's existence is private)."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from collab.experiments import charts, compare, results, services
from collab.experiments.forms import EXAMPLE, ExperimentForm, ForkForm
from collab.experiments.models import Experiment
from collab.experiments.spec import SpecError
from collab.live.charts import render_chart
from collab.sessions import permissions
from collab.sessions import selectors as session_selectors
from collab.sessions import services as session_services
from collab.sessions.models import Session
from collab.sessions.permissions import Refused


def _experiment(request, pk: int, *, act: bool = False) -> Experiment:
    experiment = Experiment.objects.filter(pk=pk).select_related("owner").first()
    if experiment is None:
        raise Http404("No such experiment.")
    if experiment.owner_id == request.user.pk or (request.user.is_staff and not act):
        return experiment
    raise Http404("No such experiment.")


@login_required
def experiment_list(request):
    experiments = Experiment.objects.filter(owner=request.user)[:100]
    return render(request, "experiments/list.html", {
        "experiments": [(e, results.progress(e)) for e in experiments]})


@login_required
def experiment_new(request):
    form = ExperimentForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            text = form.definition_text()
            if text is not None:
                experiment = services.experiment_create(owner=request.user, text=text)
            else:
                experiment = services.experiment_create(owner=request.user, data=form.quick_spec())
            services.experiment_start(experiment=experiment, user=request.user)
        except SpecError as exc:
            problems = exc.problems
        except ValidationError as exc:
            problems = exc.messages
        except (ValueError, Refused) as exc:
            problems = [str(exc)]
        else:
            messages.success(request, f"Experiment started: {experiment.runs.count()} runs.")
            return redirect("experiment_detail", experiment.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "experiments/new.html", {"form": form, "problems": problems, "example": EXAMPLE},
                  status=status)


def _live_context(experiment: Experiment, include_incomplete: bool) -> dict:
    rows = results.aggregates(experiment, include_incomplete=include_incomplete)
    return {
        "experiment": experiment, "progress": results.progress(experiment), "grid": results.grid(experiment),
        "failures": results.failures(experiment), "aggregates": rows, "table": results.pivot(rows),
        "charts": charts.charts(rows),
        "include_incomplete": include_incomplete,
        "running": experiment.status == Experiment.Status.RUNNING,
    }


@login_required
def experiment_detail(request, pk: int):
    experiment = _experiment(request, pk)
    context = _live_context(experiment, request.GET.get("incomplete") == "1")
    context["is_owner"] = experiment.owner_id == request.user.pk
    return render(request, "experiments/detail.html", context)


@login_required
def experiment_progress(request, pk: int):
    experiment = _experiment(request, pk)
    context = _live_context(experiment, request.GET.get("incomplete") == "1")
    context["is_owner"] = experiment.owner_id == request.user.pk
    return render(request, "experiments/_live.html", context)


@login_required
@require_POST
def experiment_cancel(request, pk: int):
    experiment = _experiment(request, pk, act=True)
    try:
        services.experiment_cancel(experiment=experiment, user=request.user)
        messages.success(request, "Experiment cancelled; running sessions were stopped.")
    except Refused as exc:
        messages.error(request, str(exc))
    return redirect("experiment_detail", pk)


@login_required
@require_POST
def experiment_rerun(request, pk: int):
    experiment = _experiment(request, pk, act=True)
    try:
        count = services.experiment_rerun_failed(experiment=experiment, user=request.user)
        messages.success(request, f"{count} cell{'s' if count != 1 else ''} queued again.")
    except Refused as exc:
        messages.error(request, str(exc))
    return redirect("experiment_detail", pk)


def _csv(filename: str, columns: list[str], rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.DictWriter(response, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return response


@login_required
def experiment_runs_csv(request, pk: int):
    experiment = _experiment(request, pk)
    columns, rows = results.run_rows(experiment)
    return _csv(f"experiment-{pk}-runs.csv", columns, rows)


@login_required
def experiment_aggregates_csv(request, pk: int):
    experiment = _experiment(request, pk)
    rows = results.aggregates(experiment, include_incomplete=request.GET.get("incomplete") == "1")
    return _csv(f"experiment-{pk}-aggregates.csv", results.AGGREGATE_COLUMNS, rows)


@login_required
def experiment_manifest(request, pk: int):
    experiment = _experiment(request, pk)
    response = JsonResponse(results.manifest(experiment), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="experiment-{pk}-manifest.json"'
    return response




def _viewable_session(request, pk: int) -> Session:
    session = Session.objects.filter(pk=pk).first()
    if session is None or not permissions.can_view(session, request.user):
        raise Http404("No such session.")
    return session


@login_required
def session_compare(request):
    """Sessions side by side: ?sessions=12,15[,...]&metric=NAME."""
    raw = request.GET.get("sessions", "")
    try:
        ids = list(dict.fromkeys(int(part) for part in raw.split(",") if part.strip()))
    except ValueError:
        ids = []
    if not 2 <= len(ids) <= compare.MAX_SESSIONS:
        return render(request, "experiments/compare.html", {
            "error": f"Name 2 to {compare.MAX_SESSIONS} session numbers, e.g. ?sessions=12,15.", "raw": raw},
            status=400)
    sessions = [_viewable_session(request, pk) for pk in ids]
    view = compare.side_by_side(sessions, request.GET.get("metric", ""))
    return render(request, "experiments/compare.html", {
        "sessions": sessions, "view": view, "raw": raw, "chart": render_chart(view["chart"], "compare-chart")})


@login_required
def session_fork(request, pk: int):
    origin = _viewable_session(request, pk)
    form = ForkForm(request.POST or None, session=origin, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            fork = session_services.session_fork(
                session=origin, user=request.user, at_seq=data["at_seq"], model_profile=data["model_profile"],
                protocol_params=data["protocol_params"], seat_role=data["seat_role"] or None,
                inject=data["inject"])
            session_services.session_start(session=fork, user=request.user)
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Fork #{fork.pk} started from event {fork.forked_at_seq} of #{origin.pk}.")
            return redirect(f"{reverse('session_compare')}?sessions={origin.pk},{fork.pk}")
    status = 400 if request.method == "POST" else 200
    return render(request, "experiments/fork.html", {"origin": origin, "form": form,
                                                     "events": session_selectors.fork_choices(origin.pk)},
                  status=status)
