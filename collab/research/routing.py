from django.urls import path

from collab.research.consumers import CodingConsumer

websocket_urlpatterns = [
    path("ws/research/projects/<int:project_id>/code/", CodingConsumer.as_asgi()),
]
