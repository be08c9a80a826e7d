"""The atlas admin: registrations, editorial pages (review, deleted services, tickets), imports."""

from . import editorial, registrations  # noqa: F401  (registers the ModelAdmins)
from .base import AtlasGeoAdmin, ScopedAdmin, ScopedGeoAdmin

__all__ = ["AtlasGeoAdmin", "ScopedAdmin", "ScopedGeoAdmin"]
