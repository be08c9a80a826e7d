"""The Content-Security-Policy of every page, with the tile server taken from the settings.

django-csp builds and sends the header; this subclass only adds the origin of
``ATLAS_TILE_URL`` (every map's tiles, the admin widgets' included: atlas.core.maps) to
``img-src`` per response, so the policy follows the settings (which tests and installations
change) instead of a second, hand-kept copy of them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def tile_origin(url_template: str) -> str | None:
    """The origin of a Leaflet tile URL template, with ``{s}`` subdomains as a wildcard.

    >>> tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    'https://*.tile.example.org'
    """
    parts = urlsplit(url_template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None  # a relative URL: tiles come from this site ('self')
    host = parts.netloc
    if "}" in host:
        # A placeholder ({s}, {switch:a,b}) in the host: CSP can only say "any subdomain".
        host = "*" + host[host.rindex("}") + 1 :]
    return f"{parts.scheme}://{host}"


def tile_origins() -> list[str]:
    """Origins of the configured tile server (one for every map, admin widgets included)."""
    origin = tile_origin(settings.ATLAS_TILE_URL)
    return [origin] if origin else []


class AtlasCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = tile_origins()
        if origins:
            update = dict(parts.update or {})
            update["img-src"] = [*update.get("img-src", []), *origins]
            parts.update = update
        return parts
