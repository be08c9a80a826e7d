"""The residents a category serves: age-group indicators matching its services' ages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q
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
    ids, frontier = {category.pk}, {category.pk}
    while frontier:
        frontier = (
            set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
        )
        ids |= frontier
    return sorted(ids)


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
    bounds = (
        Service.objects.published()
        .filter(categories__in=category_ids(category))
        .aggregate(
            low=Min("min_age"),
            high=Max("max_age"),
            n=Count("pk"),
            open=Count("pk", filter=Q(min_age__isnull=True) | Q(max_age__isnull=True)),
        )
    )
    if not bounds["n"] or bounds["open"]:
        return 0, None
    return bounds["low"], bounds["high"] + 1


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
