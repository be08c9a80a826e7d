"""Locations (Standorte) where services are offered, with their planning areas."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Point, Polygon
from django.contrib.postgres.indexes import GistIndex
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from atlas.core.geography import AsGeography, GeographyDistance, KNNDistance, WithinMetres
from planning_areas.models import Area

from .common import TimeStamped
from .organizations import Organization


def location_condition(
    prefix: str = "",
    *,
    bbox: Polygon | None = None,
    near: tuple[Point, float] | None = None,
    area_ids: Iterable[int] | None = None,
    wheelchair: Iterable[str] | None = None,
) -> Q:
    """The location filters as one condition on the location at ``prefix`` (``""`` for a
    Location query, ``"locations__"`` from a service), so a service query can apply them to
    the very location row it joins instead of to a subquery of locations."""
    condition = Q()
    if bbox is not None:
        condition &= Q(**{f"{prefix}point__intersects": bbox})
    if near is not None:
        condition &= Q(WithinMetres(f"{prefix}point", *near))
    if area_ids is not None:
        member = Location.areas.through.objects.filter(area_id__in=list(area_ids))
        condition &= Q(**{f"{prefix}pk__in": member.values("location_id")})
    if wheelchair is not None:
        condition &= Q(**{f"{prefix}wheelchair__in": list(wheelchair)})
    return condition


def default_city() -> str:
    """The municipality's name (``ATLAS_DEFAULT_CITY``) for a location that names no city."""
    return settings.ATLAS_DEFAULT_CITY


class LocationQuerySet(models.QuerySet):
    def visible_to(self, user) -> LocationQuerySet:
        """All locations for staff roles; for the public those offering a published service."""
        # Service is defined after (and in terms of) this model: reach it by the relation.
        Service = self.model._meta.get_field("services").related_model  # noqa: N806

        if user.has_perm("providers.view_location"):
            return self
        return self.filter(
            Exists(
                Service.objects.published().filter(serviceatlocation__location_id=OuterRef("pk"))
            )
        )

    # -- "nearest": the one definition, used by the API, the site and the caseworker lookup --

    def within(self, point: Point, metres: float) -> LocationQuerySet:
        """Locations at most ``metres`` from ``point`` on the spheroid (``WithinMetres``:
        ST_DWithin on geography, served by the GiST index ``location_point_geography``)."""
        return self.filter(WithinMetres("point", point, metres))

    def nearest_first(self, point: Point) -> LocationQuerySet:
        """Ordered nearest to ``point`` first by the KNN operator (an index scan that stops
        after the rows a LIMIT asks for), annotated with ``distance`` in metres."""
        return self.annotate(distance=GeographyDistance("point", point)).order_by(
            KNNDistance("point", point)
        )

    def matching(
        self,
        *,
        bbox: Polygon | None = None,
        near: tuple[Point, float] | None = None,
        area_ids: Iterable[int] | None = None,
        wheelchair: Iterable[str] | None = None,
    ) -> LocationQuerySet:
        """Locations inside ``bbox``, within ``near=(point, metres)``, in the given areas
        (stored membership) and with one of the ``wheelchair`` values. All index-backed."""
        return self.filter(
            location_condition(bbox=bbox, near=near, area_ids=area_ids, wheelchair=wheelchair)
        )

    def refresh_areas(self) -> int:
        """Recompute the stored area membership of these locations in one SQL statement.

        Returns the number of (location, area) links written.
        """
        through = Location.areas.through
        ids = list(self.values_list("pk", flat=True))
        if not ids:
            return 0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f'DELETE FROM "{through._meta.db_table}" WHERE location_id = ANY(%s)',  # noqa: S608
                [ids],
            )
            cursor.execute(
                f"""
                INSERT INTO "{through._meta.db_table}" (location_id, area_id)
                SELECT l.id, a.id FROM "{Location._meta.db_table}" l
                JOIN "{Area._meta.db_table}" a ON ST_Covers(a.geometry, l.point)
                WHERE l.id = ANY(%s)
                """,  # noqa: S608
                [ids],
            )
            written = cursor.rowcount
            cursor.execute(
                f"""
                UPDATE "{Location._meta.db_table}" l SET is_outside_areas = NOT EXISTS (
                    SELECT 1 FROM "{through._meta.db_table}" t WHERE t.location_id = l.id)
                WHERE l.id = ANY(%s)
                """,  # noqa: S608
                [ids],
            )
        return written


class Location(TimeStamped):
    """A Standort: a place where services are offered."""

    class Wheelchair(models.TextChoices):
        YES = "yes", _("fully accessible")
        LIMITED = "limited", _("partly accessible")
        NO = "no", _("not accessible")
        UNKNOWN = "unknown", _("unknown")

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="locations",
        null=True,
        blank=True,
    )
    name = models.CharField(_("name"), max_length=255)
    street = models.CharField(_("street"), max_length=200, blank=True)
    house_number = models.CharField(_("house number"), max_length=20, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True, default=default_city)
    point = models.PointField(_("position"), srid=settings.ATLAS_SRID)
    wheelchair = models.CharField(
        _("wheelchair access"),
        max_length=10,
        choices=Wheelchair.choices,
        default=Wheelchair.UNKNOWN,
    )
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    areas = models.ManyToManyField(
        "planning_areas.Area",
        verbose_name=_("planning areas"),
        blank=True,
        related_name="locations",
        editable=False,
        help_text=_("Computed from the position on save and after every area import."),
    )
    is_outside_areas = models.BooleanField(
        _("outside all planning areas"), default=False, editable=False, db_index=True
    )
    history = HistoricalRecords(excluded_fields=["is_outside_areas"])

    objects = LocationQuerySet.as_manager()

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name"]
        indexes = [
            # Serves within() and nearest_first(): radii in metres and KNN ordering.
            GistIndex(AsGeography("point"), name="location_point_geography"),
            # The wheelchair filter reads the matching ids from this index, not from every
            # location (at 103,701 locations: 5 ms instead of a 31 ms scan of the table).
            models.Index(fields=["wheelchair", "id"], name="location_wheelchair"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="location_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.address}" if self.address else self.name

    @property
    def address(self) -> str:
        street = " ".join(p for p in (self.street, self.house_number) if p)
        town = " ".join(p for p in (self.postcode, self.city) if p)
        return ", ".join(p for p in (street, town) if p)
