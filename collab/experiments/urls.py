from django.urls import path

from collab.experiments import views

urlpatterns = [
    path("", views.experiment_list, name="experiment_list"),
    path("new/", views.experiment_new, name="experiment_new"),
    path("<int:pk>/", views.experiment_detail, name="experiment_detail"),
    path("<int:pk>/progress/", views.experiment_progress, name="experiment_progress"),
    path("<int:pk>/cancel/", views.experiment_cancel, name="experiment_cancel"),
    path("<int:pk>/rerun/", views.experiment_rerun, name="experiment_rerun"),
    path("<int:pk>/runs.csv", views.experiment_runs_csv, name="experiment_runs_csv"),
    path("<int:pk>/aggregates.csv", views.experiment_aggregates_csv, name="experiment_aggregates_csv"),
    path("<int:pk>/manifest.json", views.experiment_manifest, name="experiment_manifest"),
    path("compare/", views.session_compare, name="session_compare"),
    path("sessions/<int:pk>/fork/", views.session_fork, name="session_fork"),
]
