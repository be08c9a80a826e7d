"""Answers while the database is unavailable: 503, never a bare "Server Error (500)".

Django calls ``handler500`` for every uncaught exception, wherever it was raised (a view, a
middleware, DRF, the health check), with the exception still being handled; this handler
answers a lost or refused database connection with 503: JSON for the API, the map's JSON
and ``/healthz``, a short page in the visitor's language for the site. The page is rendered
without a request context, so no context processor or session touches the database.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults

from .statement_timeout import is_statement_timeout

RETRY_AFTER_SECONDS = 30


def is_database_unavailable(exception: BaseException | None) -> bool:
    """A failed connection (refused, lost, shut down), not a slow or faulty statement."""
    return isinstance(exception, OperationalError | InterfaceError) and not is_statement_timeout(
        exception
    )


def wants_json(request: HttpRequest) -> bool:
    path = request.path
    return path.startswith("/api/") or path.endswith(".json") or path.rstrip("/") == "/healthz"


def database_unavailable(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        response = JsonResponse(
            {"detail": _("The database is unavailable. Please try again later.")}, status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: 503 for an unavailable database, Django's 500 page otherwise."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable(request)
    return defaults.server_error(request)
