"""A statement timeout for the database work of every web request.

Without one, a slow statement outlived its request: gunicorn killed the worker after 30 s
while PostgreSQL went on for 40 s more (issue 10 item 4). The middleware sets
``statement_timeout`` for the connection when a request starts and resets it when the
response is finished (after a streamed download, too), so management commands and imports,
which never pass through it, keep PostgreSQL's default (no limit).

A connection opened during a request (the normal case in a web process, whose persistent
connections serve requests only) gets the limit once, when it opens, and keeps it: no
statement per request. Setting and resetting it around every request cost two round trips,
more than the whole point lookup they guarded (8.6 + 5 ms against 3.6 ms at load 8, in
cProfile). A connection that existed before (the tests' own, a shell's) gets the limit for
the request only, as before. A statement cancelled by
the timeout answers 503 with ``Retry-After``, as JSON under /api/ and for ``.json`` URLs,
otherwise as a short page.
"""

from __future__ import annotations

from contextvars import ContextVar

import psycopg2
from django.conf import settings
from django.core.signals import request_finished
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

# SQLSTATE of "canceling statement due to statement timeout" (query_canceled).
QUERY_CANCELED = "57014"
RETRY_AFTER_SECONDS = 30


def timeout_ms() -> int:
    """ATLAS_STATEMENT_TIMEOUT_MS; 0 turns the limit off."""
    return int(getattr(settings, "ATLAS_STATEMENT_TIMEOUT_MS", 0))


def is_statement_timeout(exception: BaseException) -> bool:
    cause = exception.__cause__ if isinstance(exception, OperationalError) else None
    return getattr(cause, "pgcode", None) == QUERY_CANCELED


# Whether the current thread is inside a request that the middleware handles.
_in_request: ContextVar[bool] = ContextVar("atlas_in_request", default=False)
# Attribute of the connection wrapper: (the DB-API connection, its limit in ms) where the
# limit was set when that connection opened.
LIMITED = "atlas_statement_timeout"


def _limit_from_the_start(sender, connection, **kwargs) -> None:
    """connection_created: a connection opened within a request keeps the limit for life.
    It runs outside any transaction (autocommit), so no rollback can undo it."""
    limit = timeout_ms()
    if not (_in_request.get() and limit and connection.alias == "default"):
        return
    with connection.connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{limit}ms"])
    setattr(connection, LIMITED, (connection.connection, limit))


def _limited_for_life(limit: int) -> bool:
    """Whether the current connection opened with this limit."""
    raw, applied = getattr(connection, LIMITED, None) or (None, None)
    return raw is connection.connection and applied == limit


class _LimitOnFirstQuery:
    """An execute wrapper that sets the limit just before the request's first statement, so
    requests that never query (the schema, cached pages) cost no extra round trip."""

    def __init__(self, limit_ms: int):
        self.limit_ms = limit_ms
        self.applied = False

    def __call__(self, execute, sql, params, many, context):
        if not self.applied:
            self.applied = True
            # A raw cursor of its own: the wrapped one would run this wrapper again, and a
            # server-side (named) cursor executes only once.
            with context["connection"].connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, false)", [f"{self.limit_ms}ms"]
                )
        return execute(sql, params, many, context)


def _end_limit(**kwargs) -> None:
    """At the end of the response (after a streamed download, too): remove the wrapper and
    reset the connection's limit for whatever uses the connection next. Also at the start of
    the next request, for a response that was never closed."""
    wrappers = [w for w in connection.execute_wrappers if isinstance(w, _LimitOnFirstQuery)]
    for wrapper in wrappers:
        connection.execute_wrappers.remove(wrapper)
    if not any(w.applied for w in wrappers) or connection.connection is None:
        return
    setattr(connection, LIMITED, None)
    try:
        with connection.connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    except psycopg2.Error:
        pass  # an aborted transaction or a broken connection: rolled back or discarded anyway


class StatementTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        request_finished.connect(_end_limit, dispatch_uid="atlas_end_statement_timeout")
        connection_created.connect(
            _limit_from_the_start, dispatch_uid="atlas_statement_timeout_from_the_start"
        )

    def __call__(self, request):
        _end_limit()
        token = _in_request.set(True)
        try:
            limit = timeout_ms()
            if limit and connection.connection is None:
                # Open it now, with the limit: a streamed download may query only after
                # the view has returned.
                try:
                    connection.ensure_connection()
                except OperationalError:
                    pass  # the view's first query fails the same way (atlas.core.outage)
            if limit and not _limited_for_life(limit):
                connection.execute_wrappers.append(_LimitOnFirstQuery(limit))
            return self.get_response(request)
        finally:
            _in_request.reset(token)

    def process_exception(self, request, exception):
        if not is_statement_timeout(exception):
            return None
        message = _("The request took too long. Please narrow it down or try again later.")
        if request.path.startswith("/api/") or request.path.endswith(".json"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(
                render_to_string("statement_timeout.html", {"message": message}, request),
                status=503,
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
