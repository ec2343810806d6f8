from django.urls import path

from collab.research import views

urlpatterns = [
    path("", views.research_home, name="research_home"),
    path("import/", views.transcript_import, name="research_import"),
    path("sessions/<int:pk>/export/", views.session_export, name="session_export"),
    path("sessions/<int:pk>/replay/", views.session_replay, name="session_replay"),
    path("sessions/<int:pk>/replay/events/", views.replay_events, name="replay_events"),
    path("sessions/<int:pk>/events/<int:seq>/calls/", views.event_calls, name="event_calls"),
    path("codebooks/new/", views.codebook_edit, name="codebook_new"),
    path("codebooks/import/", views.codebook_import, name="codebook_import"),
    path("codebooks/<int:pk>/", views.codebook_detail, name="codebook_detail"),
    path("codebooks/<int:pk>/edit/", views.codebook_edit, name="codebook_edit"),
    path("codebooks/<int:pk>/copy/", views.codebook_copy, name="codebook_copy"),
    path("codebooks/<int:pk>/export/", views.codebook_export, name="codebook_export"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/join/<str:token>/", views.project_join, name="project_join"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/coders/", views.project_coder_add, name="project_coder_add"),
    path("projects/<int:pk>/reveal/", views.project_reveal, name="project_reveal"),
    path("projects/<int:pk>/code/<int:session_pk>/", views.project_code, name="project_code"),
    path("projects/<int:pk>/annotate/", views.project_annotate, name="project_annotate"),
    path("projects/<int:pk>/adjudicate/", views.project_adjudicate, name="project_adjudicate"),
    path("projects/<int:pk>/agreement/", views.project_agreement, name="project_agreement"),
    path("projects/<int:pk>/export/", views.project_export, name="project_export"),
    path("projects/<int:pk>/coder/", views.coder_run_start, name="coder_run_start"),
    path("projects/<int:pk>/coder/<int:run_pk>/", views.coder_run_status, name="coder_run_status"),
    path("projects/<int:pk>/coder/<int:run_pk>/cancel/", views.coder_run_cancel, name="coder_run_cancel"),
    path("projects/<int:pk>/coder/<int:run_pk>/calls/", views.coder_run_calls, name="coder_run_calls"),
]
