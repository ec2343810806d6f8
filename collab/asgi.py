import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")
# Static files are served by ServeStaticMiddleware (settings.MIDDLEWARE), with DEBUG on or off.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from collab.courses.routing import websocket_urlpatterns as course_sockets  # noqa: E402
from collab.live.origin import OriginValidator  # noqa: E402
from collab.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns + course_sockets))),
    }
)
