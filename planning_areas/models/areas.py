"""Planning areas: layers (Gliederungen), areas (Planungsräume) and the address index."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Case, Expression, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def valid_on(day: datetime.date | Expression, prefix: str = "") -> Q:
    """Rows (or, with ``prefix``, related rows) valid on ``day``, a date or a date expression."""
    p = prefix
    return (Q(**{f"{p}valid_from__isnull": True}) | Q(**{f"{p}valid_from__lte": day})) & (
        Q(**{f"{p}valid_until__isnull": True}) | Q(**{f"{p}valid_until__gte": day})
    )


class LayerQuerySet(models.QuerySet):
    def current(self, day: datetime.date | None = None) -> LayerQuerySet:
        """Layers valid on ``day`` (today by default)."""
        return self.filter(valid_on(day or timezone.localdate()))


class Layer(models.Model):
    """A Gliederung: one level of one edition of a city's planning areas."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    level = models.PositiveSmallIntegerField(
        _("level"),
        default=1,
        help_text=_("1 for the coarsest layer (e.g. districts), counting up."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent layer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    description = models.TextField(_("description"), blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=500, blank=True)
    licence = models.CharField(_("licence"), max_length=200, blank=True)
    history = HistoricalRecords()

    objects = LayerQuerySet.as_manager()

    class Meta:
        verbose_name = _("layer")
        verbose_name_plural = _("layers")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError(
                {"valid_until": _("The end of validity must not be before its start.")}
            )
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A layer cannot be its own parent.")})

    @property
    def is_current(self) -> bool:
        today = timezone.localdate()
        return (self.valid_from is None or self.valid_from <= today) and (
            self.valid_until is None or self.valid_until >= today
        )


AREA_CODE_MAX_LENGTH = 40


def is_area_code(text: str) -> bool:
    """Whether ``text`` can be an official key: 1 to 40 printable characters. A NUL byte (which
    PostgreSQL text cannot hold) or another control character in a request makes the code
    unknown instead of a database error."""
    return 0 < len(text) <= AREA_CODE_MAX_LENGTH and text.isprintable()


class AreaQuerySet(models.QuerySet):
    def containing(self, point: Point) -> AreaQuerySet:
        """Areas on any layer whose geometry covers ``point`` (index-backed ST_Covers)."""
        return self.filter(geometry__covers=point)

    def current(self, day: datetime.date | Expression | None = None) -> AreaQuerySet:
        """Areas of layers valid on ``day`` (today by default; a date or date expression)."""
        return self.filter(valid_on(day or timezone.localdate(), prefix="layer__"))

    def by_key(self, layer_slug: str, code: str) -> AreaQuerySet:
        """The area with ``code`` on the layer ``layer_slug`` (none for a malformed code)."""
        return self.with_code(code).filter(layer__slug=layer_slug)

    def with_code(self, code: str) -> AreaQuerySet:
        """Areas with official ``code``; none when ``code`` cannot be one (``is_area_code``)."""
        if not is_area_code(code):
            return self.none()
        return self.filter(code=code)

    def descendant_ids(self, areas) -> set[int]:
        """Ids of ``areas`` and of all areas below them (children, grandchildren, …)."""
        ids = {area.pk for area in areas}
        frontier = set(ids)
        while frontier:
            frontier = set(self.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
            ids |= frontier
        return ids


class Area(models.Model):
    """A Planungsraum (or district, region…) on one layer, keyed by its official code."""

    layer = models.ForeignKey(
        Layer, verbose_name=_("layer"), on_delete=models.CASCADE, related_name="areas"
    )
    code = models.CharField(
        _("code"),
        max_length=AREA_CODE_MAX_LENGTH,
        help_text=_("Official key, as a string with leading zeros."),
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent area"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    geometry = models.MultiPolygonField(_("geometry"), srid=settings.ATLAS_SRID, spatial_index=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    history = HistoricalRecords()

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("planning area")
        verbose_name_plural = _("planning areas")
        ordering = ["layer__level", "code"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "code"], name="area_unique_code_per_layer")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.parent_id == self.pk:
            raise ValidationError({"parent": _("An area cannot be its own parent.")})
        if self.layer.parent_id and self.parent.layer_id != self.layer.parent_id:
            raise ValidationError(
                {
                    "parent": _("The parent area must lie on the parent layer “%(layer)s”.")
                    % {"layer": self.layer.parent}
                }
            )

    def ancestors(self) -> list[Area]:
        """Parent, grandparent, … up to the top layer."""
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain


class StreetQuerySet(models.QuerySet):
    # Trigram similarity a typo must keep; pg_trgm's default of 0.3 lets the common
    # trigrams of "strasse" through and makes the index scan slow.
    typo_threshold = 0.45

    def scored(self, keys: list[str], limit: int = 12) -> dict[int, float]:
        """Streets matching any of the folded ``keys``, best first, as ``{id: score}``.

        An exact key scores 3 and a key starting with the typed text 2 plus its
        similarity (B-tree on ``key``). Only when nothing starts with it are keys
        containing it (1 plus similarity) and near misses (their trigram
        similarity) searched, through the GIN trigram index. Streets far behind
        the best are dropped.
        """
        keys = [key for key in keys if len(key) >= 2]
        matches = [m for key in keys for m in self._prefix_matches(key, limit)]
        if not matches:
            matches = [m for key in keys for m in self._fuzzy_matches(key, limit)]
        scores: dict[int, float] = {}
        for pk, score in matches:
            scores[pk] = max(score, scores.get(pk, 0.0))
        if not scores:
            return {}
        best = max(scores.values())
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        return {pk: score for pk, score in ranked[:limit] if score >= best - 1.0}

    def _prefix_matches(self, key: str, limit: int) -> list[tuple[int, float]]:
        similarity = TrigramSimilarity("key", Value(key))
        return list(
            self.filter(key__startswith=key)
            .annotate(
                score=Case(
                    When(key=key, then=Value(3.0)),
                    default=Value(2.0) + similarity,
                    output_field=models.FloatField(),
                )
            )
            .order_by("-score", "key")
            .values_list("pk", "score")[:limit]
        )

    def _fuzzy_matches(self, key: str, limit: int) -> list[tuple[int, float]]:
        similarity = TrigramSimilarity("key", Value(key))
        queryset = (
            self.filter(Q(key__contains=key) | Q(key__trigram_similar=key))
            .annotate(
                score=Case(
                    When(key__contains=key, then=Value(1.0) + similarity),
                    default=similarity,
                    output_field=models.FloatField(),
                )
            )
            .order_by("-score", "key")
            .values_list("pk", "score")
        )
        with transaction.atomic(using=self.db), connections[self.db].cursor() as cursor:
            # The planner under-costs similarity() and would scan all streets instead.
            cursor.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true), "
                "set_config('enable_seqscan', 'off', true)",
                [str(self.typo_threshold)],
            )
            return list(queryset[:limit])


class Street(models.Model):
    """A street name of the address index, with the folded key that search compares."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    key = models.CharField(
        _("search key"),
        max_length=200,
        db_index=True,
        help_text=_("Lower case, umlauts and ß folded, abbreviations expanded, no separators."),
    )

    objects = StreetQuerySet.as_manager()

    class Meta:
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        ordering = ["name"]
        indexes = [
            # No pending list: a bulk import must not leave searches scanning it.
            GinIndex(
                fields=["key"],
                name="street_key_trgm",
                opclasses=["gin_trgm_ops"],
                fastupdate=False,
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AddressQuerySet(models.QuerySet):
    def example(self) -> Address | None:
        """One real address with a house number (the first by id, so it is stable), for
        placeholders: typing it is sure to find something."""
        return (
            self.filter(house_number__isnull=False).select_related("street").order_by("pk").first()
        )

    def has_postcodes(self) -> bool:
        """Whether the index knows postcodes at all (many official files have none)."""
        return self.exclude(postcode="").exists()

    def distinct_districts(self) -> list[str]:
        return list(
            self.exclude(district="")
            .order_by("district")
            .values_list("district", flat=True)
            .distinct()
        )

    def suggest(
        self,
        street_scores: dict[int, float],
        *,
        house_number: int | None = None,
        suffix: str = "",
        postcode: str = "",
        districts: list[str] | None = None,
        by_street: bool = False,
        limit: int = 10,
    ) -> list[dict]:
        """Addresses on the scored streets, the exact address first, as dicts.

        Rank = street score (3 exact, 2+ prefix, 1+ contained, <1 similar)
        + 1.5 for the postcode, + 0.8 for a district named in the query (both
        pick the right one of several equally named streets), + 1 for the house
        number (so the exact number outranks a district hint), + 0.1 for the
        suffix; then the nearest house numbers. A postcode or district only ranks,
        it never filters: an index without postcodes still answers. With
        ``by_street`` one row per street, postcode and district, with the count
        of addresses and the smallest id. One statement: this runs on every
        keystroke.
        """
        if not street_scores:
            return []
        address = Address._meta.db_table
        street = Street._meta.db_table
        ranked = f"""
            WITH ranked AS (
                SELECT a.id, a.street_id, a.house_number, a.house_number_suffix, a.postcode,
                       a.district, a.point IS NOT NULL AS has_position,
                       m.score
                       + CASE WHEN a.house_number = %(number)s THEN 1.0 ELSE 0 END
                       + CASE WHEN %(number)s IS NOT NULL AND a.house_number_suffix = %(suffix)s
                              THEN 0.1 ELSE 0 END
                       + CASE WHEN %(postcode)s <> '' AND a.postcode = %(postcode)s
                              THEN 1.5 ELSE 0 END
                       + CASE WHEN a.district = ANY(%(districts)s) THEN 0.8 ELSE 0 END AS rank
                FROM "{address}" a
                JOIN unnest(%(ids)s::bigint[], %(scores)s::float8[]) AS m(street_id, score)
                  ON m.street_id = a.street_id
            )
        """  # noqa: S608 - table names from model metadata, values as parameters
        if by_street:
            sql = f"""{ranked}
                SELECT s.name AS street, r.postcode, r.district, max(r.rank) AS rank,
                       count(*) AS address_count, min(r.id) AS first_id
                FROM ranked r JOIN "{street}" s ON s.id = r.street_id
                GROUP BY s.name, r.postcode, r.district
                ORDER BY rank DESC, s.name, r.postcode LIMIT %(limit)s
            """  # noqa: S608
        else:
            sql = f"""{ranked}
                SELECT r.id, s.name AS street, r.house_number, r.house_number_suffix,
                       r.postcode, r.district, r.has_position, r.rank
                FROM ranked r JOIN "{street}" s ON s.id = r.street_id
                ORDER BY r.rank DESC, abs(r.house_number - %(number)s) NULLS LAST,
                         r.house_number, r.house_number_suffix, r.postcode
                LIMIT %(limit)s
            """  # noqa: S608
        params = {
            "ids": list(street_scores),
            "scores": list(street_scores.values()),
            "number": house_number,
            "suffix": suffix,
            "postcode": postcode,
            "districts": list(districts or []),
            "limit": limit,
        }
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            columns = [c.name for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


class Address(models.Model):
    """An official address. Areas follow from its point or, without one, from its official area."""

    street = models.ForeignKey(
        Street, verbose_name=_("street"), on_delete=models.PROTECT, related_name="addresses"
    )
    house_number = models.PositiveIntegerField(_("house number"), null=True, blank=True)
    house_number_suffix = models.CharField(
        _("house number suffix"), max_length=10, blank=True, help_text=_("E.g. the A of 12A.")
    )
    postcode = models.CharField(_("postcode"), max_length=10, blank=True, db_index=True)
    district = models.CharField(
        _("district"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("The district or locality the source names, e.g. the Ortsteil."),
    )
    point = models.PointField(
        _("position"), srid=settings.ATLAS_SRID, null=True, blank=True, spatial_index=True
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("official planning area"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="addresses",
        help_text=_("The area the source assigns, used when the address has no position."),
    )
    source = models.CharField(_("source"), max_length=200, blank=True)

    objects = AddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["street__name", "house_number", "house_number_suffix"]
        constraints = [
            models.UniqueConstraint(
                fields=["street", "house_number", "house_number_suffix", "postcode"],
                name="address_unique_per_street_number_postcode",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=["street", "house_number"], name="address_street_number"),
            # The data credit's distinct sources, read by a loose index scan.
            models.Index(fields=["source"], name="address_sources"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def number_label(self) -> str:
        if self.house_number is None:
            return self.house_number_suffix
        return f"{self.house_number}{self.house_number_suffix}"

    @property
    def label(self) -> str:
        """The address as people write it: ``Hauptstraße 12A, 12345 Altstadt``."""
        street = " ".join(p for p in (self.street.name, self.number_label) if p)
        town = " ".join(p for p in (self.postcode, self.district) if p)
        return ", ".join(p for p in (street, town) if p)


class Composition(models.Model):
    """How a composed layer (Baukasten) is built: which base unit belongs to which area.

    The assignment is kept by code, not by row, so that it survives a new import
    of the base layer; the composed areas are rebuilt from it whenever the base
    units change.
    """

    layer = models.OneToOneField(
        Layer,
        verbose_name=_("composed layer"),
        on_delete=models.CASCADE,
        related_name="composition",
    )
    base_layer = models.ForeignKey(
        Layer,
        verbose_name=_("base layer"),
        on_delete=models.PROTECT,
        related_name="compositions",
    )
    is_draft = models.BooleanField(
        _("draft"),
        default=False,
        help_text=_("A proposal (e.g. computed) that planners still have to check and edit."),
    )
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("composition")
        verbose_name_plural = _("compositions")

    def __str__(self) -> str:
        return f"{self.layer} ← {self.base_layer}"


class CompositionUnit(models.Model):
    """One base unit's place in a composed layer: base code → composed area code."""

    composition = models.ForeignKey(
        Composition, verbose_name=_("composition"), on_delete=models.CASCADE, related_name="units"
    )
    base_code = models.CharField(_("base unit code"), max_length=40)
    code = models.CharField(_("composed area code"), max_length=40)

    class Meta:
        verbose_name = _("composition unit")
        verbose_name_plural = _("composition units")
        ordering = ["code", "base_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["composition", "base_code"], name="composition_unit_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.base_code} → {self.code}"


class Crosswalk(models.Model):
    """An Umschlüsselung between two layers that do not nest, with how it was estimated."""

    class Method(models.TextChoices):
        ADDRESS_CODES = "address_codes", _("addresses carrying both codes")
        ADDRESS_POINTS = "address_points", _("address points in the overlap")
        AREA = "area", _("area-weighted")
        MIXED = "mixed", _("mixed (per source area)")

    source_layer = models.ForeignKey(
        Layer,
        verbose_name=_("source layer"),
        on_delete=models.CASCADE,
        related_name="crosswalks_from",
    )
    target_layer = models.ForeignKey(
        Layer,
        verbose_name=_("target layer"),
        on_delete=models.CASCADE,
        related_name="crosswalks_to",
    )
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    placed_share = models.FloatField(
        _("share of residents placed"),
        help_text=_(
            "Share of the source layer's residents that could be placed in a target area"
            " (addresses with a matching code or point, or area covered by the target layer)."
        ),
    )
    address_share = models.FloatField(
        _("share of residents split by addresses"),
        default=0.0,
        help_text=_("Share of the residents whose split comes from addresses, not from area."),
    )
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        verbose_name = _("crosswalk")
        verbose_name_plural = _("crosswalks")
        constraints = [
            models.UniqueConstraint(
                fields=["source_layer", "target_layer"], name="crosswalk_once_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_layer} → {self.target_layer}"


class CrosswalkShare(models.Model):
    """The share of a source area's residents living in one target area."""

    crosswalk = models.ForeignKey(
        Crosswalk, verbose_name=_("crosswalk"), on_delete=models.CASCADE, related_name="shares"
    )
    source = models.ForeignKey(
        Area, verbose_name=_("source area"), on_delete=models.CASCADE, related_name="+"
    )
    target = models.ForeignKey(
        Area, verbose_name=_("target area"), on_delete=models.CASCADE, related_name="+"
    )
    share = models.FloatField(_("share"))
    method = models.CharField(_("method"), max_length=20, choices=Crosswalk.Method.choices)

    class Meta:
        verbose_name = _("crosswalk share")
        verbose_name_plural = _("crosswalk shares")
        ordering = ["source", "-share"]
        constraints = [
            models.UniqueConstraint(
                fields=["crosswalk", "source", "target"], name="crosswalk_share_once"
            ),
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=1), name="crosswalk_share_in_unit_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}: {self.share:.3f}"
