"""Services (Angebote): search, filters, freshness, and where they are offered."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
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
from django.db.models import Exists, Min, OuterRef, Q, Value
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from atlas.core.distinct import distinct_values
from atlas.core.geography import GeographyDistance
from atlas.core.roles import in_group, is_admin, is_editor

from ..opening_hours import is_open_now
from ..validators import validate_opening_hours
from .common import ChoiceArrayField, Language, LegalBasis, TimeStamped
from .locations import Location
from .organizations import Organization
from .taxonomy import Category, TargetGroup

# Text-search configuration for service search: German stemming (Kinder → kind).
SEARCH_CONFIG = "german"
SEARCH_WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 8
MAX_WORD_EXPANSIONS = 12
SEARCH_EXPANSION_CACHE_SECONDS = 300
# Shorter words are not searched as prefixes: "ki:*" would match a large part of the
# vocabulary (and have every match ranked).
MIN_PREFIX_LENGTH = 4


def search_words(text: str) -> list[str]:
    """The searchable words of a query (at most MAX_SEARCH_WORDS); punctuation, symbols and
    invisible characters such as a byte-order mark are not words."""
    return SEARCH_WORD.findall(text.lower())[:MAX_SEARCH_WORDS]


def prefix_searchable(word: str) -> bool:
    """Whether ``word`` is also searched as the start of longer words ("Jugend" finds
    "Jugendzentrum", "Kind" "Kindergarten"): letters only, so that it carries no text
    search syntax into the raw prefix query, and at least MIN_PREFIX_LENGTH of them."""
    return len(word) >= MIN_PREFIX_LENGTH and word.isalpha()


def verified_limit(today: datetime.date | None = None) -> datetime.date:
    """A service last verified before this day is stale (ATLAS_VERIFICATION_MAX_AGE_DAYS)."""
    return (today or timezone.localdate()) - datetime.timedelta(
        days=settings.ATLAS_VERIFICATION_MAX_AGE_DAYS
    )


def not_verified_since(today: datetime.date | None = None) -> Q:
    """Services (or rows with their ``last_verified``) that count as stale: never verified,
    or not since ``verified_limit``."""
    return Q(last_verified__isnull=True) | Q(last_verified__lt=verified_limit(today))


def published_condition() -> Q:
    """What "published" means, on any model with the service's ``status``, ``valid_from``
    and ``valid_until`` (services, and the map's stored markers): published and valid
    today."""
    today = timezone.localdate()
    return Q(status=Service.Status.PUBLISHED) & ~Q(valid_from__gt=today) & ~Q(valid_until__lt=today)


class ServiceQuerySet(models.QuerySet):
    def visible_to(self, user) -> ServiceQuerySet:
        """Published services for everyone; all for admins and editors; an organisation
        editor additionally sees the unpublished services of their organisations."""
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
        words = search_words(text)
        if not words:
            # Nothing to search for; the annotation keeps ``order_by("-rank")`` valid.
            return self.none().annotate(rank=Value(0.0))
        exact = None
        expanded = None
        for word in words:
            term = SearchQuery(word, config=SEARCH_CONFIG)
            exact = term if exact is None else exact & term
            if prefix_searchable(word):
                # One prefix term instead of the compounds it covers: it finds all of
                # them ("jugend" has 40 in Berlin's vocabulary; 12 were listed, so
                # "Jugendzentrum" was missed), and ts_rank's cost grows with the terms
                # of the query (20,000 matches: 30 ms with 13 terms, 18 ms with one).
                term = SearchQuery(f"{word}:*", search_type="raw", config=SEARCH_CONFIG)
            for alternative in SearchWord.objects.similar_to(word):
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
        """Services open (or, with ``is_open=False``, not open) at ``moment``.

        Each distinct opening-hours text is judged once by ``providers.opening_hours``, the
        one definition the detail pages use too: unknown or unparsable hours count as not
        open.
        """
        texts = self.exclude(opening_hours="").values_list("opening_hours", flat=True)
        open_texts = [text for text in texts.distinct() if is_open_now(text, moment)]
        if is_open:
            return self.filter(opening_hours__in=open_texts)
        return self.exclude(opening_hours__in=open_texts)

    def offered_where(self, locations: Q) -> ServiceQuerySet:
        """Services offered at a location meeting ``locations``, a condition on the
        offer's ``location__…`` (see ``location_condition``). On the offer itself, not
        through a subquery of locations: an area's members are offers' location ids
        already, and the extra pass over every location cost 10-20 ms of a district's
        page at 100,000 services."""
        return self.filter(
            Exists(ServiceAtLocation.objects.filter(locations, service_id=OuterRef("pk")))
        )

    def nearest_first(self, point: Point, locations: Q) -> ServiceQuerySet:
        """Services offered at a location meeting ``locations`` (a condition on
        ``locations__…``, see ``location_condition``, including the radius around
        ``point``), annotated with ``distance``: metres to the nearest such location. One
        join and ``min()`` per service, no subquery per service."""
        return (
            self.filter(locations)
            .annotate(distance=Min(GeographyDistance("locations__point", point)))
            .order_by("distance", "name", "pk")
        )

    def page_ctes(self, start: int, size: int, *, materialized: bool = True) -> tuple[str, list]:
        """SQL and parameters of two common table expressions: ``matches`` (every match,
        materialised once with its sort keys, to be counted) and ``page`` (``id`` and
        ``pos`` of one page of them, in this queryset's order of fields and annotations).

        Materialising first makes a search rank each match once: ``count(*) OVER ()``
        next to ``ORDER BY rank`` made PostgreSQL rank every match after the window (52 vs
        35 ms for 20,000 matches, measured with bench/api.py), and a spatial filter search
        its index once. Without ``materialized`` PostgreSQL plans the count and the page
        apart: for all published services, the page comes from the name index
        (``service_published_order``) instead of sorting every service."""
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
            matches ({", ".join(columns)}) AS {"" if materialized else "NOT "}MATERIALIZED
                ({matches}),
            page AS (
                SELECT k0 AS id, row_number() OVER (ORDER BY {order}) AS pos
                FROM (SELECT * FROM matches ORDER BY {order} LIMIT %s OFFSET %s) AS top)
        """  # noqa: S608
        return ctes, [*params, size, start]

    def published(self) -> ServiceQuerySet:
        """Services the public may see: published and valid today."""
        return self.filter(published_condition())

    def data_sources(self) -> list[tuple[str, str]]:
        """(source, licence) of these services without repeats, for the data credit: the
        pairs of all services from the index (``service_sources``), each kept if one of
        these services has it."""
        return [
            (source, licence)
            for source, licence in distinct_values(Service, ("source", "licence"))
            if self.filter(source=source, licence=licence).exists()
        ]

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
    capacity = models.PositiveIntegerField(
        _("capacity (places)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(1_000_000)],
        help_text=_(
            "How many people the service can take at once, e.g. the places of a Kita. "
            "Leave empty if not known; social monitoring then counts the service, not places."
        ),
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
    # Database defaults too: bulk SQL (bench/, the feature-store tests) names only the
    # columns it knows.
    source = models.CharField(
        _("source"),
        max_length=200,
        blank=True,
        db_default="",
        help_text=_(
            "Where the entry comes from, e.g. the data set it was imported from; named with "
            "its licence in the data credit on the maps."
        ),
    )
    licence = models.CharField(_("licence"), max_length=100, blank=True, db_default="")
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
    # Categories and target groups are recorded with every version (a revert restores them);
    # locations through ServiceAtLocation's own history.
    history = HistoricalRecords(
        excluded_fields=["search_vector"], m2m_fields=["categories", "target_groups"]
    )

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
            # A service without a name is a link without text on every list and map.
            models.CheckConstraint(condition=Q(name__regex=r"\S"), name="service_name_not_blank"),
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
            # The data credit's distinct sources, read by a loose index scan.
            models.Index(fields=["source", "licence"], name="service_sources"),
            # Lists are in name order (the public list, the API's pages): a page is read
            # from the index instead of sorting every published service (the first page
            # of /liste/ at 100,000 services: 112 ms for the sort). With the dates of
            # validity in it, counting and paging all published services never visit the
            # table (the last page: 92 ms with visits).
            models.Index(
                fields=["name", "id"],
                include=["valid_from", "valid_until"],
                name="service_published_order",
                condition=Q(status="published"),
            ),
            # Searches run on published services only (the API and the public pages).
            # Without fastupdate: every search scanned GIN's pending list of recent
            # inserts (223 pages after a bulk import: 105 instead of 16 ms for the index
            # part of a 10,000-match search) until a vacuum merged it; services change
            # rarely, searches are many.
            GinIndex(
                fields=["search_vector"],
                name="service_search_published",
                condition=Q(status="published"),
                fastupdate=False,
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
        """Vocabulary words that contain something like ``word`` (``%>``), except those
        its prefix search finds anyway (``prefix_searchable``), cached for
        ``SEARCH_EXPANSION_CACHE_SECONDS``: comparing a word with the whole vocabulary
        costs ~5 ms, and people search the same words again and again. A word new to the
        vocabulary is found at once; it serves as another word's correction after that
        time at the latest."""
        key = f"searchword:v2:{limit}:{word}"
        similar = cache.get(key)
        if similar is None:
            similar = self._similar_to(word, limit)
            cache.set(key, similar, SEARCH_EXPANSION_CACHE_SECONDS)
        return similar

    def _similar_to(self, word: str, limit: int) -> list[str]:
        words = self.filter(word__trigram_word_similar=word).exclude(word=word)
        if prefix_searchable(word):
            words = words.exclude(word__startswith=word)
        return list(
            words
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
