"""Where the planning areas, addresses and indicators come from, for the data credit."""

from __future__ import annotations

from .models import Address, Indicator, Layer


def data_sources() -> list[tuple[str, str]]:
    """(source, licence) of every current layer, the address index and the indicators."""
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
    pairs += list(
        Indicator.objects.exclude(source="")
        .order_by("source", "licence")
        .values_list("source", "licence")
        .distinct()
    )
    return pairs
