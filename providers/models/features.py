"""Stored GeoJSON features: each service at each location as ready-made JSON text.

Building 500 rich features costs PostgreSQL tens of milliseconds, a full export of
100,000 several seconds; reading stored text costs a fraction of that. The rows are
derived data, written only by the database: triggers on every table a feature embeds
call ``providers_refresh_features(service ids)`` (see ``providers.feature_store``), so
bulk imports, raw SQL and the admin all keep them current inside their own transaction.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
from django.db.models import Case, Expression, F, Func, Value, When
from django.db.models.functions import Cast, Coalesce, Round
from django.utils.translation import gettext_lazy as _

from atlas.core.geography import GeographyDistance

from .services import Service, not_verified_since, published_condition


class JoinedText(Func):
    """``a || b || …`` of texts none of which is NULL. Django's ``Concat`` nests a pair per
    part and wraps each part in ``COALESCE``: for the seven parts of a near= feature that
    was 0.3 ms of building and compiling per request, and six ``COALESCE`` per row."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = models.TextField()


class ServiceFeatureQuerySet(models.QuerySet):
    def with_text(
        self,
        *,
        internal: bool = False,
        near: Point | Expression | None = None,
        today: datetime.date | None = None,
    ) -> ServiceFeatureQuerySet:
        """Annotate ``text``: the feature with the properties that depend on the request,
        ``is_stale`` (as of ``today``, by default the current day) and, with ``near`` (a
        point or an expression of one), ``distance`` in metres."""
        stored = Coalesce("internal", "public") if internal else F("public")
        is_stale = Case(
            When(not_verified_since(today), then=Value("true")),
            default=Value("false"),
            output_field=models.TextField(),
        )
        parts: list[Expression] = [
            # The stored text lacks the two braces of properties and feature.
            stored,
            Value(', "is_stale" : '),
            is_stale,
        ]
        if near is not None:
            distance = Round(GeographyDistance("location__point", near), 1)
            parts += [Value(', "distance" : '), Cast(distance, models.TextField())]
        parts.append(Value("}}"))
        return self.annotate(text=JoinedText(*parts))


class StoredServiceAtLocation(models.Model):
    """A row per service at a location that the feature-store triggers keep (delete and
    insert in the writer's statement, ``providers.feature_store``): no foreign-key
    constraints, since the rows follow the services rather than guard them."""

    service_at_location = models.OneToOneField(
        "providers.ServiceAtLocation",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    service = models.ForeignKey(
        "providers.Service",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # each table's own composite index starts with it
        related_name="+",
    )

    class Meta:
        abstract = True


class ServiceFeature(StoredServiceAtLocation):
    """One service at one location as a GeoJSON Feature (JSON text), kept by triggers."""

    location = models.ForeignKey(
        "providers.Location", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    location_name = models.CharField(max_length=255)
    service_name = models.CharField(max_length=255)
    last_verified = models.DateField(null=True)
    # Both texts end open, without the closing braces of properties and feature:
    # ``with_text`` appends the properties that depend on the request and closes them.
    public = models.TextField(help_text=_("The feature as the public sees it."))
    internal = models.TextField(
        null=True,
        help_text=_("The feature for caseworkers, where the service has contacts."),
    )

    objects = ServiceFeatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("stored service feature")
        verbose_name_plural = _("stored service features")
        default_permissions = ()
        indexes = [
            models.Index(
                fields=["service", "location_name", "service_at_location"],
                name="servicefeature_page_order",
            ),
            # The order of exports (service name, service, offer).
            models.Index(
                fields=["service_name", "service", "service_at_location"],
                name="servicefeature_export_order",
            ),
        ]

    def __str__(self) -> str:
        return f"feature {self.pk}"


class ServiceMarkerQuerySet(models.QuerySet):
    def published(self) -> ServiceMarkerQuerySet:
        """Markers of the services the public may see (the services' own condition)."""
        return self.filter(published_condition())


class ServiceMarker(StoredServiceAtLocation):
    """One service at one location as the map draws it, kept by the same triggers as
    ``ServiceFeature``: a map tile reads this one narrow table (point, position on the
    web-mercator grid, colour, name, whether published today) instead of joining every
    marker in view to its service and categories (~20 µs a marker under load)."""

    location = models.ForeignKey(
        "providers.Location",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    point = models.PointField(srid=settings.ATLAS_SRID)
    # The point in web mercator as a share of the world's width (0 to 1, from the west and
    # from the north): times a zoom level's width in pixels (a power of two, so exact) it
    # is the pixel, and a tile's bounds are compared without any trigonometry per marker.
    # Indexed for the extent of all markers (min and max), which lets the map skip the
    # tiles without any.
    x = models.FloatField(db_index=True)
    y = models.FloatField(db_index=True)
    # The most specific of the service's categories (its colour), or none.
    category = models.ForeignKey(
        "providers.Category",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    name = models.CharField(max_length=255)
    # What published_condition() reads, copied from the service.
    status = models.CharField(max_length=10, choices=Service.Status.choices)
    valid_from = models.DateField(null=True)
    valid_until = models.DateField(null=True)

    objects = ServiceMarkerQuerySet.as_manager()

    class Meta:
        verbose_name = _("stored map marker")
        verbose_name_plural = _("stored map markers")
        default_permissions = ()
        indexes = [
            # The map's count (distinct published services) reads this index alone, in
            # order: 0.33 s at 1,003,701 markers, against 1.46 s hashing the table's rows
            # (beyond work_mem, spilled to disk).
            models.Index(
                fields=["service"],
                include=["status", "valid_from", "valid_until"],
                name="servicemarker_published",
            ),
        ]

    def __str__(self) -> str:
        return f"marker {self.pk}"
