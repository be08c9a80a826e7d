"""Form fields for query parameters: strict, with messages that name what is allowed.

Used by the API filters and the HTML pages of every app; a bad value raises a
``ValidationError`` instead of being ignored.
"""

from __future__ import annotations

import datetime
import math

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

MAX_LIST_ITEMS = 50


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_bbox_span() -> float:
    """Largest allowed bbox width/height in degrees (ATLAS_API_MAX_BBOX_DEGREES)."""
    return float(_setting("ATLAS_API_MAX_BBOX_DEGREES", 2.0))


def _numbers(value: str, count: int, example: str) -> list[float]:
    parts = [p.strip() for p in str(value).split(",")]
    if len(parts) != count:
        raise forms.ValidationError(
            _("Expected %(count)d comma-separated numbers, e.g. %(example)s."),
            code="invalid",
            params={"count": count, "example": example},
        )
    numbers = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise forms.ValidationError(
                _("“%(part)s” is not a number; expected e.g. %(example)s."),
                code="invalid",
                params={"part": part[:30], "example": example},
            )
        numbers.append(number)
    return numbers


def _check_lon_lat(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise forms.ValidationError(
            _(
                "Coordinates out of range: longitude must lie between -180 and 180, "
                "latitude between -90 and 90 (WGS84, longitude first)."
            ),
            code="out_of_range",
        )


def parse_lon_lat(value: str) -> tuple[float, float]:
    """``LON,LAT`` in WGS84 → ``(lon, lat)``; ValidationError when malformed or out of range."""
    lon, lat = _numbers(value, 2, "10.45,51.16")
    _check_lon_lat(lon, lat)
    return lon, lat


class LonLatField(forms.CharField):
    """``LON,LAT`` in WGS84 → ``Point``."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        return Point(*parse_lon_lat(value), srid=4326)


class BBoxField(forms.CharField):
    """``minlon,minlat,maxlon,maxlat`` in WGS84 → ``Polygon``."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        minlon, minlat, maxlon, maxlat = _numbers(value, 4, "10.40,51.10,10.50,51.20")
        _check_lon_lat(minlon, minlat)
        _check_lon_lat(maxlon, maxlat)
        if minlon >= maxlon or minlat >= maxlat:
            raise forms.ValidationError(
                _("minlon must be below maxlon and minlat below maxlat."), code="invalid"
            )
        span = max_bbox_span()
        if maxlon - minlon > span or maxlat - minlat > span:
            raise forms.ValidationError(
                _("The box may span at most %(span)s degrees in each direction."),
                code="too_large",
                params={"span": span},
            )
        box = Polygon.from_bbox((minlon, minlat, maxlon, maxlat))
        box.srid = 4326  # stated, not left to the field that compares it (as for points)
        return box


class StrictBooleanField(forms.CharField):
    """true/false (also 1/0, yes/no): anything else is an error, not "no filter"."""

    TRUE = frozenset({"true", "1", "yes", "ja"})
    FALSE = frozenset({"false", "0", "no", "nein"})

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        value = value.strip().lower()
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        raise forms.ValidationError(_("Expected true or false."), code="invalid")


class CommaListField(forms.CharField):
    """A comma-separated list of short tokens (slugs, ids, ``layer:code`` keys)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            return None
        if len(items) > MAX_LIST_ITEMS:
            raise forms.ValidationError(
                _("At most %(max)d values are allowed."),
                code="too_many",
                params={"max": MAX_LIST_ITEMS},
            )
        if any(len(item) > 120 for item in items):
            raise forms.ValidationError(_("A value is too long."), code="too_long")
        return items


class DateOrDateTimeField(forms.CharField):
    """An ISO 8601 date (``2025-01-31``) or date-time (``2025-01-31T12:00:00+01:00``)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            moment = parse_datetime(value)
            day = None if moment else parse_date(value)
        except ValueError:
            moment = day = None
        if moment is None and day is not None:
            moment = datetime.datetime.combine(day, datetime.time.min)
        if moment is None:
            raise forms.ValidationError(
                _("Expected an ISO 8601 date or date-time, e.g. 2025-01-31 or 2025-01-31T12:00Z."),
                code="invalid",
            )
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
