import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings")
from collab.http import get_http_application  # noqa: E402

# Static files first (servestatic, DEBUG on or off), then Django's middleware and views in one thread hop.
django_asgi_app = get_http_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from collab.courses.routing import websocket_urlpatterns as course_sockets  # noqa: E402
from collab.live.origin import OriginValidator  # noqa: E402
from collab.live.routing import websocket_urlpatterns  # noqa: E402
from collab.research.routing import websocket_urlpatterns as coding_sockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns + course_sockets + coding_sockets))),
    }
)
