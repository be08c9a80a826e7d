"""Where the planning areas and addresses come from, for the data credit on the maps."""

from __future__ import annotations

from .models import Address, Layer


def data_sources() -> list[tuple[str, str]]:
    """(source, licence) of every current layer, then of the address index."""
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
    return pairs
