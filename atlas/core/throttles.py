"""Request limits per client address, shared by all server processes.

Three parts, each with one job:

- ``client_ip``: the client's address. ``X-Forwarded-For`` is read only when
  ``ATLAS_NUM_PROXIES`` reverse proxies are configured, and then from the right: each proxy
  appends the address it saw, so the N-th entry from the right was written by our first
  proxy; whatever a client put further left is ignored. The default (0) never trusts the
  header. django-axes and the report form use the same function.
- ``AnonRateThrottle``: a DRF throttle whose counts live in PostgreSQL
  (``core.ThrottleCount``, per key and time bucket), so 3 gunicorn workers share one count.
  The check and the count run under a transaction-scoped advisory lock on the key: at most
  N requests pass in any window of the period, also when the workers race. Django's
  database cache was the other candidate; DRF's throttle reads, changes and writes a whole
  history list there (for 6000/hour a 6,000-entry pickle per request) and two workers
  reading at once both pass.
- ``ThrottleMiddleware``: the same throttles for every public page outside /api/ (where
  DRF applies them): the map data, the list, the service and area pages, the report form.
"""

from __future__ import annotations

import ipaddress
import random

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from .models import ThrottleCount

# Paths the middleware leaves alone: DRF throttles the API itself; static files are
# served before it; the admin's login is limited by django-axes; health probes poll.
UNTHROTTLED_PREFIXES = ("/api/", "/static/", "/admin/", "/healthz")
CLEANUP_CHANCE = 0.001
# Buckets older than this are deleted (the longest period, a day, and its last bucket).
KEEP_SECONDS = 2 * 86400


def num_proxies() -> int:
    return int(getattr(settings, "ATLAS_NUM_PROXIES", 0) or 0)


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address, taking ``X-Forwarded-For`` from the right past the configured
    number of trusted proxies; ``REMOTE_ADDR`` when there are none or the header is short or
    malformed (a request that did not pass all proxies)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = num_proxies()
    if proxies <= 0:
        return remote
    forwarded = [a for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if len(forwarded) < proxies:
        return remote
    return _valid_ip(forwarded[-proxies]) or remote


def axes_client_ip(request) -> str:
    """AXES_CLIENT_IP_CALLABLE: django-axes keys lockouts on the same address."""
    return client_ip(request)


# django-axes stores the tried user name in a 255-character column; the login form does not
# limit its length (Django sets only the widget's maxlength), so a 5,000-character name was a
# database error (found by tests/security/test_site_fuzz.py). No account has a longer name
# than auth.User allows.
USERNAME_MAX_LENGTH = 150


def axes_username(request, credentials: dict | None = None) -> str:
    """AXES_USERNAME_CALLABLE: the tried user name, cut to what an account can have."""
    field = settings.AXES_USERNAME_FORM_FIELD
    name = (credentials or {}).get(field) or request.POST.get(field) or ""
    return str(name)[:USERNAME_MAX_LENGTH]


def _parse_rate(rate: str) -> tuple[int, int]:
    count, period = rate.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count), seconds


def bucket_seconds(period: int) -> int:
    """Width of a counting bucket: 1/60 of the period (a minute's limit counts per second,
    an hour's per minute), at least a second. It divides the period: every period is one
    unit of ``_parse_rate``."""
    return max(1, period // 60)


def record_hits(windows: list[tuple[str, int, int]]) -> list[float | None]:
    """Count a request for each ``(key, limit, period_seconds)`` where fewer than ``limit``
    passed within the period: per window None when it may pass, else the seconds until the
    oldest counted bucket leaves the window.

    The window is the current bucket and the buckets of the period before it (61 at
    most), so no ``period`` seconds ever see more than ``limit`` requests pass (any such
    stretch lies in the counted buckets of its last request); a client may wait up to
    one bucket (1/60 of the period) longer than a count of single requests would make it.

    One round trip for all windows: the database function ``core_count_hits`` (migration
    core 0002) takes the keys' locks, then counts, as one transaction. Two throttles with a
    transaction each took 6 round trips, 7 to 9 ms of a 10 ms point lookup at load 9; a
    row per request made the count grow with the client's traffic."""
    if not windows:
        return []
    keys = [key for key, _, _ in windows]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key, passed, wait FROM core_count_hits(%s, %s, %s, %s)",
            [
                keys,
                [limit for _, limit, _ in windows],
                [seconds for _, _, seconds in windows],
                [bucket_seconds(seconds) for _, _, seconds in windows],
            ],
        )
        results = {key: (passed, wait) for key, passed, wait in cursor.fetchall()}
        if random.random() < CLEANUP_CHANCE:  # noqa: S311 - not for security
            table = ThrottleCount._meta.db_table
            cursor.execute(
                f"DELETE FROM {table} WHERE bucket < extract(epoch FROM now()) - %s",  # noqa: S608
                [KEEP_SECONDS],
            )
    waits: list[float | None] = []
    for key in keys:
        passed, wait = results[key]
        waits.append(None if passed else max(float(wait or 0), 1.0))
    return waits


class AnonRateThrottle(BaseThrottle):
    """At most each scope's rate (``DEFAULT_THROTTLE_RATES``) of anonymous requests per
    client address in any window of its period; signed-in users are not limited. All
    scopes are counted in one round trip (``record_hits``).

    - ``anon_burst`` (``ATLAS_API_ANON_BURST_RATE``): the short-term ceiling; a person
      panning a map sends a few requests a second at most, a scraper loop hundreds.
    - ``anon`` (``ATLAS_API_ANON_RATE``): the hourly ceiling.
    """

    scopes = ("anon_burst", "anon")

    def __init__(self):
        self.wait_seconds: float | None = None

    def rates(self) -> list[tuple[str, int, int]]:
        rates = api_settings.DEFAULT_THROTTLE_RATES
        return [(scope, *_parse_rate(rates[scope])) for scope in self.scopes if rates.get(scope)]

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return True
        address = client_ip(request)
        windows = [(f"{scope}:{address}", limit, period) for scope, limit, period in self.rates()]
        waits = [wait for wait in record_hits(windows) if wait is not None]
        self.wait_seconds = max(waits) if waits else None
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds


def throttle_classes() -> list[type[BaseThrottle]]:
    return list(api_settings.DEFAULT_THROTTLE_CLASSES)


class ThrottleMiddleware:
    """The API's throttles for the site's own views (one quota per client for both)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(UNTHROTTLED_PREFIXES):
            for throttle_class in throttle_classes():
                throttle = throttle_class()
                if not throttle.allow_request(request, None):
                    return self._refuse(request, throttle.wait())
        return self.get_response(request)

    def _refuse(self, request, wait: float | None):
        message = _("Too many requests. Please wait a moment and try again.")
        if request.path.endswith(".json"):
            response = JsonResponse({"detail": message}, status=429)
        else:
            response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(int(wait or 1))
        return response
