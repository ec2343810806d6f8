from django.urls import path

from collab.sessions import views

urlpatterns = [
    path("", views.home, name="home"),
    path("sessions/demo/", views.demo_start, name="demo_start"),
    path("sessions/preset/<slug:key>/", views.preset_start, name="preset_start"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/transcript/", views.session_transcript, name="session_transcript"),
    path("sessions/<int:pk>/<str:action>/", views.session_action, name="session_action"),
]
