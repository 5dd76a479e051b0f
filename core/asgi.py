"""Django's ASGI handler with the middleware chain and the view in one thread per request.

Django builds an async chain under ASGI: a sync-only middleware is run in a worker thread, the
handler under it is called back on the event loop (async_to_sync), each of Django's own
middlewares below that runs its process_request/process_response in a thread again
(MiddlewareMixin's async path), and the sync view in another hop — about seven hand-offs
between the loop and a thread for one request through this project's chain, each a context
copy, a future and a GIL hand-off. Every view and middleware here is sync, so this handler
builds the chain in sync mode and runs the whole of it with one `sync_to_async` (thread-
sensitive, so each request keeps Django's one-thread-per-request context as before). An async
view would still work (Django's sync path calls it through async_to_sync); none exists.
Measured in bench/README.md (issue 20, "ceiling").
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
