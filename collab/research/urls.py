from django.urls import path

from collab.research import views

urlpatterns = [
    path("", views.research_home, name="research_home"),
    path("import/", views.transcript_import, name="research_import"),
    path("sessions/<int:pk>/export/", views.session_export, name="session_export"),
]
