"""Where the planning areas, addresses and indicators come from, for the data credit."""

from __future__ import annotations

from atlas.core.distinct import distinct_values

from .models import Address, Indicator, Layer


def data_sources() -> list[tuple[str, str]]:
    """(source, licence) of every current layer, the address index and the indicators."""
    pairs = list(
        Layer.objects.current()
        .exclude(source="")
        .order_by("level", "source")
        .values_list("source", "licence")
    )
    pairs += [(source, "") for (source,) in distinct_values(Address, ("source",))]
    pairs += list(
        Indicator.objects.exclude(source="")
        .order_by("source", "licence")
        .values_list("source", "licence")
        .distinct()
    )
    return pairs
