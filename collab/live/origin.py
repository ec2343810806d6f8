"""Which pages may open the session socket. The browser's Origin must equal,
in scheme, host and port, either the address the socket itself was opened on
(its Host header, http for ws and https for wss, the host one Django allows)
or one of settings.WEBSOCKET_ALLOWED_ORIGINS (by default the
CSRF_TRUSTED_ORIGINS, which a deployment behind a TLS proxy sets anyway).
channels' AllowedHostsOriginValidator compares the host alone, so a page on
another port of the same host (another app, a dev server) could connect."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
PAGE_SCHEME = {"ws": "http", "wss": "https"}


def origin_tuple(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as https://example.org:8443; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def own_origin(scope) -> tuple[str, str, int] | None:
    """The origin of a page served where this socket was opened."""
    host_header = _header(scope, b"host")
    scheme = PAGE_SCHEME.get(scope.get("scheme") or "ws")
    if not host_header or scheme is None:
        return None
    domain, port = split_domain_port(host_header)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    try:
        return scheme, domain.lower(), int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None


def allowed(scope) -> bool:
    origin = _header(scope, b"origin")
    wanted = origin_tuple(origin) if origin else None
    if wanted is None:
        return False
    listed = {origin_tuple(o) for o in settings.WEBSOCKET_ALLOWED_ORIGINS}
    return wanted in listed or wanted == own_origin(scope)


class OriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
