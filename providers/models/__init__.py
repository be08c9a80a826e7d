"""Organisations (Träger), their services (Angebote), locations (Standorte) and contacts.

The entities follow Open Referral HSDS 3.0 (organization, service, location,
service_at_location, contact) so that a complete HSDS export is a mapping,
not a redesign.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable

from django import forms
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.db.models.functions import Distance as DistanceFunction
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
    TrigramWordSimilarity,
)
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..validators import validate_hex_colour, validate_opening_hours

# Text-search configuration for service search: German stemming (Kinder → kind).
SEARCH_CONFIG = "german"
SEARCH_WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 8
MAX_WORD_EXPANSIONS = 12
SEARCH_EXPANSION_CACHE_SECONDS = 300


class ChoiceArrayField(ArrayField):
    """An ArrayField of choices, edited as a list of checkboxes in forms."""

    def formfield(self, **kwargs):
        defaults = {
            "form_class": forms.TypedMultipleChoiceField,
            "choices": self.base_field.choices,
            "coerce": self.base_field.to_python,
            "widget": forms.CheckboxSelectMultiple,
        }
        defaults.update(kwargs)
        # Skip ArrayField.formfield, which would force a SimpleArrayField.
        return super(ArrayField, self).formfield(**defaults)


class Language(models.TextChoices):
    GERMAN = "de", _("German")
    ENGLISH = "en", _("English")
    TURKISH = "tr", _("Turkish")
    ARABIC = "ar", _("Arabic")
    RUSSIAN = "ru", _("Russian")
    UKRAINIAN = "uk", _("Ukrainian")
    POLISH = "pl", _("Polish")
    FARSI = "fa", _("Persian")
    KURDISH = "ku", _("Kurdish")
    VIETNAMESE = "vi", _("Vietnamese")
    FRENCH = "fr", _("French")
    SPANISH = "es", _("Spanish")
    SIGN = "gsg", _("German Sign Language")


class LegalBasis(models.TextChoices):
    SGB8_11 = "SGB VIII § 11", _("SGB VIII § 11 – youth work")
    SGB8_13 = "SGB VIII § 13", _("SGB VIII § 13 – youth social work")
    SGB8_14 = "SGB VIII § 14", _("SGB VIII § 14 – child and youth protection")
    SGB8_16 = "SGB VIII § 16", _("SGB VIII § 16 – general support for families")
    SGB8_17 = "SGB VIII § 17", _("SGB VIII § 17 – partnership, separation and divorce counselling")
    SGB8_18 = "SGB VIII § 18", _("SGB VIII § 18 – custody and contact support")
    SGB8_22 = "SGB VIII § 22", _("SGB VIII § 22 – day care for children")
    SGB8_27 = "SGB VIII § 27", _("SGB VIII § 27 – help with upbringing")
    SGB8_28 = "SGB VIII § 28", _("SGB VIII § 28 – child guidance")
    SGB8_29 = "SGB VIII § 29", _("SGB VIII § 29 – social group work")
    SGB8_30 = "SGB VIII § 30", _("SGB VIII § 30 – educational counsellor")
    SGB8_31 = "SGB VIII § 31", _("SGB VIII § 31 – social-pedagogical family help")
    SGB8_35A = (
        "SGB VIII § 35a",
        _("SGB VIII § 35a – integration help for children with mental disabilities"),
    )
    SGB8_41 = "SGB VIII § 41", _("SGB VIII § 41 – help for young adults")
    SGB8_8A = "SGB VIII § 8a", _("SGB VIII § 8a – protection mandate for child welfare")
    SGB9_46 = "SGB IX § 46", _("SGB IX § 46 – early intervention")
    SGB9_113 = "SGB IX § 113", _("SGB IX § 113 – social participation")
    SGB12_67 = "SGB XII § 67", _("SGB XII § 67 – help overcoming particular social difficulties")
    SGB12_71 = "SGB XII § 71", _("SGB XII § 71 – help for older people")


def verified_limit(today: datetime.date | None = None) -> datetime.date:
    """A service last verified before this day is stale (ATLAS_VERIFICATION_MAX_AGE_DAYS)."""
    return (today or timezone.localdate()) - datetime.timedelta(
        days=settings.ATLAS_VERIFICATION_MAX_AGE_DAYS
    )


def not_verified_since(today: datetime.date | None = None) -> Q:
    """Services (or rows with their ``last_verified``) that count as stale: never verified,
    or not since ``verified_limit``."""
    return Q(last_verified__isnull=True) | Q(last_verified__lt=verified_limit(today))


def envelope_around(point: Point, metres: float) -> Polygon:
    """A WGS84 box that surely contains the circle of ``metres`` around ``point``;
    lets the spatial index pre-select before the exact distance test."""
    dlat = metres / 111_000 * 1.01
    dlon = dlat / max(math.cos(math.radians(min(abs(point.y), 89.0))), 0.01)
    return Polygon.from_bbox((point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat))


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modified"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class Category(models.Model):
    """A node of the hierarchical service taxonomy (HSDS taxonomy_term)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    description = models.TextField(_("description"), blank=True)
    icon = models.CharField(
        _("icon"), max_length=40, blank=True, help_text=_("Name of the map icon, e.g. “family”.")
    )
    colour = models.CharField(
        _("colour"), max_length=7, default="#1f78b4", validators=[validate_hex_colour]
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return f"{self.parent} › {self.name}" if self.parent_id else self.name

    def clean(self) -> None:
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                raise ValidationError({"parent": _("A category cannot be its own ancestor.")})
            seen.add(node.pk)
            node = node.parent

    def descendant_ids(self) -> set[int]:
        """This category's id and those of all categories below it."""
        ids, frontier = {self.pk}, {self.pk}
        while frontier:
            frontier = (
                set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
                - ids
            )
            ids |= frontier
        return ids


class TargetGroup(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("target group")
        verbose_name_plural = _("target groups")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, user) -> OrganizationQuerySet:
        """All organisations for staff roles; for the public those with a published service."""
        if user.has_perm("providers.view_organization"):
            return self
        return self.filter(
            Exists(Service.objects.published().filter(organization_id=OuterRef("pk")))
        )


class Organization(TimeStamped):
    """A Träger: the body that runs services."""

    class Kind(models.TextChoices):
        PUBLIC = "public", _("public body")
        FREE = "free", _("independent non-profit (freier Träger)")
        OTHER = "other", _("other")

    name = models.CharField(_("name"), max_length=255, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FREE)
    description = models.TextField(_("description"), blank=True)
    website = models.URLField(_("website"), max_length=500, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        help_text=_("Key of this organisation in the source it was imported from."),
    )
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("editors"),
        blank=True,
        related_name="edited_organizations",
        help_text=_("Users who may edit this organisation's services, locations and contacts."),
    )
    history = HistoricalRecords()

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="organization_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.name


class LocationQuerySet(models.QuerySet):
    def visible_to(self, user) -> LocationQuerySet:
        """All locations for staff roles; for the public those offering a published service."""
        if user.has_perm("providers.view_location"):
            return self
        return self.filter(
            Exists(
                Service.objects.published().filter(serviceatlocation__location_id=OuterRef("pk"))
            )
        )

    def outside_areas(self) -> LocationQuerySet:
        return self.filter(is_outside_areas=True)

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
        qs = self
        if bbox is not None:
            qs = qs.filter(point__intersects=bbox)
        if near is not None:
            point, metres = near
            qs = qs.filter(point__intersects=envelope_around(point, metres)).filter(
                point__distance_lte=(point, D(m=metres))
            )
        if area_ids is not None:
            qs = qs.filter(
                pk__in=Location.areas.through.objects.filter(area_id__in=list(area_ids)).values(
                    "location_id"
                )
            )
        if wheelchair is not None:
            qs = qs.filter(wheelchair__in=list(wheelchair))
        return qs

    def refresh_areas(self) -> int:
        """Recompute the stored area membership of these locations in one SQL statement.

        Returns the number of (location, area) links written.
        """
        from planning_areas.models import Area

        through = Location.areas.through
        ids = list(self.values_list("pk", flat=True))
        if not ids:
            return 0
        from django.db import connection, transaction

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
    city = models.CharField(_("city"), max_length=100, default="Berlin")
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


class ServiceQuerySet(models.QuerySet):
    def visible_to(self, user) -> ServiceQuerySet:
        """Published services for everyone; all for admins and editors; an organisation
        editor additionally sees the unpublished services of their organisations."""
        from ..permissions import in_group, is_admin, is_editor

        if is_admin(user) or is_editor(user):
            return self
        published = self.published()
        if user and user.is_authenticated and in_group(user, "organization editor"):
            return self.filter(
                Q(pk__in=published.values("pk")) | Q(organization__editors=user)
            ).distinct()
        return published

    def search(self, text: str) -> ServiceQuerySet:
        """German full-text search, tolerant of typos and parts of compound words.

        Every query word is expanded to the similar words of the vocabulary
        (``SearchWord``); all words must match (AND), each by itself or one of its
        expansions (OR). Matching and ranking use the full-text index only; exact
        matches of the query rank above corrected ones. Annotates ``rank``.
        """
        words = SEARCH_WORD.findall(text.lower())[:MAX_SEARCH_WORDS]
        if not words:
            return self.none()
        exact = None
        expanded = None
        for word in words:
            alternatives = SearchWord.objects.similar_to(word)
            term = SearchQuery(word, config=SEARCH_CONFIG)
            exact = term if exact is None else exact & term
            for alternative in alternatives:
                term = term | SearchQuery(alternative, config=SEARCH_CONFIG)
            expanded = term if expanded is None else expanded & term
        vector = models.F("search_vector")
        return self.filter(search_vector=expanded).annotate(
            rank=SearchRank(vector, expanded) + 2 * SearchRank(vector, exact)
        )

    def in_category_ids(self, ids: Iterable[int]) -> ServiceQuerySet:
        """Services in any of the categories (no join, so no duplicates)."""
        through = Service.categories.through
        return self.filter(
            Exists(through.objects.filter(service_id=OuterRef("pk"), category_id__in=list(ids)))
        )

    def for_target_group_ids(self, ids: Iterable[int]) -> ServiceQuerySet:
        through = Service.target_groups.through
        return self.filter(
            Exists(through.objects.filter(service_id=OuterRef("pk"), targetgroup_id__in=list(ids)))
        )

    def for_age(self, age: int) -> ServiceQuerySet:
        """Services whose age range (open at either end) includes ``age``."""
        return self.filter(Q(min_age__isnull=True) | Q(min_age__lte=age)).filter(
            Q(max_age__isnull=True) | Q(max_age__gte=age)
        )

    def open_at(self, moment: datetime.datetime, is_open: bool = True) -> ServiceQuerySet:
        """Services open (or, with ``is_open=False``, not open) at ``moment`` (local time).

        Each distinct opening-hours text is evaluated once with opening-hours-py.
        """
        from opening_hours import OpeningHours, ParserError

        naive = (
            timezone.localtime(moment).replace(tzinfo=None) if timezone.is_aware(moment) else moment
        )
        open_texts = []
        for text in (
            self.exclude(opening_hours="").values_list("opening_hours", flat=True).distinct()
        ):
            try:
                if OpeningHours(text).is_open(naive):
                    open_texts.append(text)
            except (ParserError, ValueError):
                continue
        if is_open:
            return self.filter(opening_hours__in=open_texts)
        return self.exclude(opening_hours__in=open_texts)

    def with_location_in(self, locations: models.QuerySet) -> ServiceQuerySet:
        """Services offered at one of ``locations``."""
        return self.filter(
            Exists(
                ServiceAtLocation.objects.filter(
                    service_id=OuterRef("pk"), location_id__in=locations.values("pk")
                )
            )
        )

    def annotate_distance(self, point: Point, locations: models.QuerySet) -> ServiceQuerySet:
        """``distance``: metres from ``point`` to the service's nearest of ``locations``."""
        nearest = (
            locations.filter(services=OuterRef("pk"))
            .annotate(metres=DistanceFunction("point", point))
            .order_by("metres")
            .values("metres")[:1]
        )
        return self.annotate(distance=Subquery(nearest, output_field=models.FloatField()))

    def page_ctes(self, start: int, size: int) -> tuple[str, list]:
        """SQL and parameters of two common table expressions: ``matches`` (every match,
        materialised once with its sort keys, to be counted) and ``page`` (``id`` and
        ``pos`` of one page of them, in this queryset's order of fields and annotations).

        Materialising first makes a search rank each match once: ``count(*) OVER ()``
        next to ``ORDER BY rank`` made PostgreSQL rank every match after the window (52 vs
        35 ms for 20,000 matches, measured with bench/api.py)."""
        ordering = [name for name in self.query.order_by if isinstance(name, str)] or ["pk"]
        keys = ["pk", *(name.lstrip("-") for name in ordering if name.lstrip("-") != "pk")]
        columns = [f"k{i}" for i in range(len(keys))]
        order = ", ".join(
            f"k{keys.index(name.lstrip('-'))} {'DESC' if name.startswith('-') else 'ASC'}"
            for name in ordering
        )
        matches, params = self.order_by().values_list(*keys).query.sql_with_params()
        # Only ORM-compiled SQL and generated column names are interpolated.
        ctes = f"""
            matches ({", ".join(columns)}) AS MATERIALIZED ({matches}),
            page AS (
                SELECT k0 AS id, row_number() OVER (ORDER BY {order}) AS pos
                FROM (SELECT * FROM matches ORDER BY {order} LIMIT %s OFFSET %s) AS top)
        """  # noqa: S608
        return ctes, [*params, size, start]

    def published(self) -> ServiceQuerySet:
        """Services the public may see: published and valid today."""
        today = timezone.localdate()
        return (
            self.filter(status=Service.Status.PUBLISHED)
            .exclude(valid_from__gt=today)
            .exclude(valid_until__lt=today)
        )

    def in_category(self, category: Category) -> ServiceQuerySet:
        return self.filter(categories__in=category.descendant_ids()).distinct()

    def stale(self, today: datetime.date | None = None) -> ServiceQuerySet:
        """Services not verified within ATLAS_VERIFICATION_MAX_AGE_DAYS."""
        return self.filter(not_verified_since(today))


class Service(TimeStamped):
    """An Angebot: what an organisation offers to people."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        ARCHIVED = "archived", _("archived")

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="services",
    )
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories"), blank=True, related_name="services"
    )
    target_groups = models.ManyToManyField(
        TargetGroup, verbose_name=_("target groups"), blank=True, related_name="services"
    )
    min_age = models.PositiveSmallIntegerField(
        _("minimum age"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    max_age = models.PositiveSmallIntegerField(
        _("maximum age"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    languages = ChoiceArrayField(
        models.CharField(max_length=5, choices=Language.choices),
        verbose_name=_("languages"),
        default=list,
        blank=True,
    )
    is_free = models.BooleanField(_("free of charge"), default=True)
    fees = models.CharField(_("fees"), max_length=255, blank=True)
    legal_basis = ChoiceArrayField(
        models.CharField(max_length=20, choices=LegalBasis.choices),
        verbose_name=_("legal basis"),
        default=list,
        blank=True,
    )
    opening_hours = models.CharField(
        _("opening hours"),
        max_length=500,
        blank=True,
        validators=[validate_opening_hours],
        help_text=_(
            "OpenStreetMap opening_hours syntax, e.g. “Mo-Fr 09:00-17:00; Sa 10:00-14:00”."
        ),
    )
    website = models.URLField(_("website"), max_length=500, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    last_verified = models.DateField(_("last verified"), null=True, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    locations = models.ManyToManyField(
        Location,
        verbose_name=_("locations"),
        through="ServiceAtLocation",
        related_name="services",
        blank=True,
    )
    # German full-text document, kept by PostgreSQL itself so no write path can forget it.
    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("description", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
        verbose_name=_("search document"),
    )
    history = HistoricalRecords(excluded_fields=["search_vector"])

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="service_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(min_age__lte=models.F("max_age")),
                name="service_age_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="service_validity_ordered",
            ),
        ]
        indexes = [
            # Searches run on published services only (the API and the public pages).
            GinIndex(
                fields=["search_vector"],
                name="service_search_published",
                condition=Q(status="published"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            errors["max_age"] = _("The maximum age must not be below the minimum age.")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            errors["valid_until"] = _("The end of validity must not be before its start.")
        if self.is_free and self.fees:
            errors["fees"] = _("A service free of charge has no fees; clear one of the two.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_stale(self) -> bool:
        return self.last_verified is None or self.last_verified < verified_limit()


class SearchWordQuerySet(models.QuerySet):
    def similar_to(self, word: str, limit: int = MAX_WORD_EXPANSIONS) -> list[str]:
        """Vocabulary words that contain something like ``word`` (``%>``), cached for
        ``SEARCH_EXPANSION_CACHE_SECONDS``: comparing a word with the whole vocabulary
        costs ~5 ms, and people search the same words again and again. A word new to the
        vocabulary is found at once; it serves as another word's correction after that
        time at the latest."""
        key = f"searchword:{limit}:{word}"
        similar = cache.get(key)
        if similar is None:
            similar = self._similar_to(word, limit)
            cache.set(key, similar, SEARCH_EXPANSION_CACHE_SECONDS)
        return similar

    def _similar_to(self, word: str, limit: int) -> list[str]:
        return list(
            self.filter(word__trigram_word_similar=word)
            .exclude(word=word)
            # Longer words contain the query (compounds), similar ones are typos; much
            # shorter words would only widen the search.
            .annotate(length=Length("word"))
            .filter(length__gte=len(word) - 2)
            .annotate(similarity=TrigramWordSimilarity(Value(word), "word"))
            .order_by("-similarity", "word")
            .values_list("word", flat=True)[:limit]
        )


class SearchWord(models.Model):
    """A word occurring in some service's name or description.

    The vocabulary typo-tolerant search corrects against: a query word is expanded to
    the vocabulary words it resembles (pg_trgm word similarity, so "zentrum" also finds
    "familienzentrum" and "Famielie" finds "familie"), and the expansion is matched with
    the full-text index. Filled by a database trigger on services (migration
    0006_search_vocabulary), so bulk imports cannot bypass it; words are never removed,
    a stale word only widens a query by a term that matches nothing.
    """

    word = models.CharField(_("word"), max_length=100, primary_key=True)

    objects = SearchWordQuerySet.as_manager()

    class Meta:
        verbose_name = _("search word")
        verbose_name_plural = _("search words")
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="searchword_trgm")]

    def __str__(self) -> str:
        return self.word


class ServiceAtLocation(models.Model):
    """HSDS service_at_location: a service offered at one location."""

    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.CASCADE)
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.CASCADE,
        db_index=False,  # sal_location_service starts with it
    )
    description = models.CharField(_("note"), max_length=255, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service at location")
        verbose_name_plural = _("services at locations")
        constraints = [
            models.UniqueConstraint(fields=["service", "location"], name="service_location_unique")
        ]
        # Location filters (bbox, near, area) go from matching locations to their services
        # with an index-only scan.
        indexes = [models.Index(fields=["location", "service"], name="sal_location_service")]

    def __str__(self) -> str:
        return f"{self.service} @ {self.location}"


class ContactQuerySet(models.QuerySet):
    def public(self) -> ContactQuerySet:
        return self.filter(visibility=Contact.Visibility.PUBLIC)

    def visible_to(self, user) -> ContactQuerySet:
        """Public contacts for everyone; internal ones for caseworkers and staff."""
        from ..permissions import can_see_internal_contacts

        return self if can_see_internal_contacts(user) else self.public()


class Contact(TimeStamped):
    """An Ansprechperson. Internal contacts are visible to caseworkers only."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("public")
        INTERNAL = "internal", _("internal (caseworkers only)")

    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    internal_phone = models.CharField(
        _("internal phone"),
        max_length=60,
        blank=True,
        help_text=_("Direct line for professionals; never shown to the public."),
    )
    email = models.EmailField(_("email"), blank=True)
    languages = ChoiceArrayField(
        models.CharField(max_length=5, choices=Language.choices),
        verbose_name=_("languages"),
        default=list,
        blank=True,
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="contacts",
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    publication_consent_date = models.DateField(
        _("consent to publication given on"),
        null=True,
        blank=True,
        help_text=_("Required for public contacts (GDPR Art. 6 (1) a)."),
    )
    is_demo = models.BooleanField(
        _("demo data"), default=False, help_text=_("Fictitious person created for the demo.")
    )
    history = HistoricalRecords()

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility="internal") | Q(publication_consent_date__isnull=False),
                name="contact_public_needs_consent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name

    def clean(self) -> None:
        errors = {}
        if self.visibility == self.Visibility.PUBLIC and not self.publication_consent_date:
            errors["publication_consent_date"] = _(
                "A contact can only be made public with the date the person consented."
            )
        if (
            self.service_id
            and self.organization_id
            and (self.service.organization_id != self.organization_id)
        ):
            errors["service"] = _("The service must belong to the contact's organisation.")
        if errors:
            raise ValidationError(errors)


# Models of the editorial workflow live in their own module; importing them here registers them.
from ..editorial import PendingChange, ProblemReport, ServiceDeletion  # noqa: E402, F401
from .features import ServiceFeature  # noqa: E402, F401
