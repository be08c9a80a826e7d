"""The data credit shown on every map, from the data's own sources and licences."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .map_view import CACHE_SECONDS, generation
from .models import Address, Layer

_KEY = "planning_areas:credits:{generation}:{language}"


def data_attribution() -> SafeString:
    """``ATLAS_DATA_ATTRIBUTION`` if set (HTML allowed, it is the operator's), else the
    distinct sources of the current layers and of the address index with their licences,
    escaped (they are data typed by editors). Cached; bumped with the map extent."""
    if settings.ATLAS_DATA_ATTRIBUTION:
        return mark_safe(settings.ATLAS_DATA_ATTRIBUTION)  # noqa: S308 (the operator's setting)
    key = _KEY.format(generation=generation(), language=get_language())
    credit = cache.get(key)
    if credit is None:
        credit = _from_data()
        cache.set(key, credit, CACHE_SECONDS)
    return mark_safe(credit)  # noqa: S308 (built by format_html from escaped parts)


def data_sources() -> list[tuple[str, str]]:
    """(source, licence) of every current layer and of the addresses, without repeats."""
    pairs = list(
        Layer.objects.current()
        .exclude(source="")
        .order_by("level", "source")
        .values_list("source", "licence")
    )
    pairs += [
        (source, "")
        for source in Address.objects.exclude(source="")
        .order_by("source")
        .values_list("source", flat=True)
        .distinct()
    ]
    seen: dict[str, str] = {}
    for source, licence in pairs:
        if source not in seen or (licence and not seen[source]):
            seen[source] = licence
    return list(seen.items())


def _from_data() -> str:
    sources = data_sources()
    if not sources:
        return ""
    parts = format_html_join(
        "; ",
        "{}{}",
        ((source, format_html(" ({})", licence) if licence else "") for source, licence in sources),
    )
    return str(format_html("{} {}", _("Data:"), parts))
