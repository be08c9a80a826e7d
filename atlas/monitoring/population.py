"""The residents a category serves: age-group indicators matching its services' ages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from planning_areas.models import Indicator
from providers.models import Category, Service


class PopulationError(ValueError):
    """The population group cannot be determined; the message says why."""


@dataclass(frozen=True)
class PopulationGroup:
    """Residents counted by the sum of ``indicators`` (age groups, or one count)."""

    indicators: tuple[Indicator, ...]
    age_from: int | None = None
    age_below: int | None = None

    @property
    def slugs(self) -> list[str]:
        return [i.slug for i in self.indicators]

    @property
    def label(self) -> str:
        return " + ".join(i.name for i in self.indicators)


def category_ids(category: Category) -> list[int]:
    """The category and all below it."""
    return sorted(category.descendant_ids())


def category_trees(categories: Iterable[Category]) -> list[tuple[int, int]]:
    """(category, category at or below it) pairs for every given category, from one query
    of the whole tree: the rows of a statement that answers for several categories."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    pairs = []
    for category in categories:
        ids, frontier = {category.pk}, [category.pk]
        while frontier:
            below = [c for pk in frontier for c in children[pk] if c not in ids]
            ids.update(below)
            frontier = below
        pairs.extend((category.pk, pk) for pk in sorted(ids))
    return pairs


def category_services(category: Category):
    """Published services of the category or a category below it."""
    return (
        Service.objects.published()
        .filter(categories__in=category_ids(category))
        .order_by()
        .distinct()
    )


def age_range(category: Category) -> tuple[int, int | None]:
    """(youngest, first age no longer served) over the category's services; open ends
    of any service open the range (a service for all ages makes it all residents)."""
    return age_ranges([category])[category.pk]


def group_for_ages(age_from: int, age_below: int | None) -> PopulationGroup:
    """Age-group counts that lie inside the range without overlapping, widest first."""
    candidates = Indicator.objects.filter(
        aggregation=Indicator.Aggregation.SUM, age_from__isnull=False, age_from__gte=age_from
    )
    if age_below is not None:
        candidates = candidates.filter(age_below__isnull=False, age_below__lte=age_below)
    chosen: list[Indicator] = []
    covered_until = age_from
    # Widest first at each start age; an open upper end counts as the widest.
    for indicator in sorted(
        candidates, key=lambda i: (i.age_from, -(i.age_below if i.age_below else 10_000))
    ):
        if indicator.age_from < covered_until:
            continue
        if indicator.age_from > covered_until:
            break  # a hole in the age groups: the residents would be undercounted
        chosen.append(indicator)
        if indicator.age_below is None:
            break
        covered_until = indicator.age_below
    if not chosen:
        raise PopulationError(
            _("No population indicator counts residents aged %(ages)s.")
            % {"ages": f"{age_from}–{age_below - 1}" if age_below else f"{age_from}+"}
        )
    return PopulationGroup(tuple(chosen), age_from, covered_until if age_below else None)


def age_ranges(categories: list[Category]) -> dict[int, tuple[int, int | None]]:
    """``age_range`` of every category, in one statement."""
    pairs = category_trees(categories)
    services_sql, params = Service.objects.published().values("pk").query.sql_with_params()
    link = Service.categories.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.root, min(s.min_age), max(s.max_age),
                   count(*) FILTER (WHERE s.min_age IS NULL OR s.max_age IS NULL)
            FROM unnest(%s::bigint[], %s::bigint[]) AS c(root, category)
            JOIN "{link}" sc ON sc.category_id = c.category
            JOIN "{Service._meta.db_table}" s ON s.id = sc.service_id
            WHERE s.id IN ({services_sql})
            GROUP BY c.root
            """,  # noqa: S608 - table names from model metadata, the services query by Django
            [[root for root, _ in pairs], [category for _, category in pairs], *params],
        )
        found = {root: (low, high, open_ends) for root, low, high, open_ends in cursor}
    ranges = {}
    for category in categories:
        low, high, open_ends = found.get(category.pk, (None, None, 1))
        ranges[category.pk] = (0, None) if open_ends else (low, high + 1)
    return ranges


def population_groups(
    categories: list[Category], population: str | None = None
) -> dict[int, PopulationGroup | PopulationError]:
    """``population_group`` of every category (or the error saying why there is none),
    with one statement for all age ranges."""
    if population:
        try:
            group = population_group(categories[0], population) if categories else None
        except PopulationError as exc:
            return {category.pk: exc for category in categories}
        return {category.pk: group for category in categories}
    groups: dict[tuple, PopulationGroup | PopulationError] = {}
    result = {}
    for pk, ages in age_ranges(categories).items():
        if ages not in groups:
            try:
                groups[ages] = group_for_ages(*ages)
            except PopulationError as exc:
                groups[ages] = exc
        result[pk] = groups[ages]
    return result


def population_group(category: Category, population: str | None = None) -> PopulationGroup:
    """The named count indicator, or the residents of the category's age range."""
    if population:
        indicator = Indicator.objects.filter(slug=population).first()
        if indicator is None:
            raise PopulationError(
                _("There is no indicator “%(slug)s”.") % {"slug": population[:80]}
            )
        if indicator.aggregation != Indicator.Aggregation.SUM:
            raise PopulationError(
                _("“%(slug)s” is not a count of residents (its values do not add up).")
                % {"slug": indicator.slug}
            )
        return PopulationGroup((indicator,), indicator.age_from, indicator.age_below)
    return group_for_ages(*age_range(category))
