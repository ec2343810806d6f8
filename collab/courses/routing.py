from django.urls import path

from collab.courses.consumers import WallConsumer

websocket_urlpatterns = [
    path("ws/courses/assignments/<int:assignment_id>/wall/", WallConsumer.as_asgi()),
]
