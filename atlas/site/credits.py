"""The data credit shown on every map: built from the data's own sources and licences."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from planning_areas.credits import data_sources as area_sources
from planning_areas.map_view import CACHE_SECONDS, generation
from providers.models import Service

_KEY = "atlas:credits:{generation}:{language}"


def data_attribution() -> SafeString:
    """``ATLAS_DATA_ATTRIBUTION`` if set (HTML allowed: it is the operator's), else the
    sources of the current layers, the address index and the published services with their
    licences, escaped (editors and import files typed them). Cached for CACHE_SECONDS and
    renewed with the map extent."""
    if settings.ATLAS_DATA_ATTRIBUTION:
        return mark_safe(settings.ATLAS_DATA_ATTRIBUTION)  # noqa: S308 (the operator's setting)
    key = _KEY.format(generation=generation(), language=get_language())
    # The shared cache: the distinct sources of every service and address take 0.15 s at
    # 100,000 services, once for all web workers, not once in each.
    cache = caches[settings.MAP_CACHE]
    credit = cache.get(key)
    if credit is None:
        credit = _credit(data_sources())
        cache.set(key, credit, CACHE_SECONDS)
    return mark_safe(credit)  # noqa: S308 (built by format_html from escaped parts)


def data_sources() -> list[tuple[str, str]]:
    """(source, licence) of areas, addresses and published services; each source once,
    with a licence where any of its entries names one."""
    seen: dict[str, str] = {}
    for source, licence in [*area_sources(), *Service.objects.published().data_sources()]:
        if source not in seen or (licence and not seen[source]):
            seen[source] = licence
    return list(seen.items())


def _credit(sources: list[tuple[str, str]]) -> str:
    if not sources:
        return ""
    parts = format_html_join(
        "; ",
        "{}{}",
        ((source, format_html(" ({})", licence) if licence else "") for source, licence in sources),
    )
    return str(format_html("{} {}", _("Data:"), parts))
