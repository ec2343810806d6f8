"""The HTTP side of the ASGI app: static files first, then Django in one thread hop.

Django's ASGI handler runs middleware that can do both in async mode, and a
`MiddlewareMixin` in async mode calls each `process_request` and
`process_response` through its own `sync_to_async`: about sixteen thread hops
per request for our stack, a few milliseconds each on a busy two-core machine
(the annotation keypress path measured ~13 ms more under daphne than in-process).
Every middleware we use can run synchronously, so here the whole chain is built
in sync mode and entered with one hop, as a WSGI server would run it.

Static files are served before Django, at the ASGI level, by servestatic with the
same Django configuration `ServeStaticMiddleware` reads (finders, manifest,
immutable caching); that middleware is async-only, which is why it is not in
`settings.MIDDLEWARE`.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from servestatic.asgi import FileServerASGI
from servestatic.middleware import ServeStaticMiddleware
from servestatic.utils import decode_path_info, run_async_in_thread


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)  # every middleware sync: the chain is one plain call
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


async def _unused(request):  # pragma: no cover - servestatic wants an async next handler it never calls here
    raise RuntimeError("static lookup only")


class StaticFirst:
    """An ASGI app: a request for a known static file gets the file; anything
    else goes to `app`. Responses carry `X-Content-Type-Options: nosniff`, as
    Django's pages do."""

    def __init__(self, app):
        self.app = app
        self.static = ServeStaticMiddleware(_unused)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = decode_path_info(scope["path"])
            root = scope.get("root_path") or ""
            if root and path.startswith(root):
                path = path[len(root):]
            if self.static.autorefresh:
                found = await run_async_in_thread(self.static.find_file, path)
            else:
                found = self.static.files.get(path)
            if found is not None:
                async def send_nosniff(message):
                    if message["type"] == "http.response.start":
                        message = {**message, "headers": [*message.get("headers", []),
                                                          (b"x-content-type-options", b"nosniff")]}
                    await send(message)
                return await FileServerASGI(found)(scope, receive, send_nosniff)
        return await self.app(scope, receive, send)


def get_http_application():
    import django

    django.setup(set_prefix=False)
    return StaticFirst(OneHopASGIHandler())
