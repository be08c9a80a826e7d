"""Compare two layers: for one area of a layer, the areas of another with their shares."""

from __future__ import annotations

from dataclasses import dataclass

from .crosswalks import area_splits
from .indicator_values import COMPOSED, NESTED, memberships, method_label
from .models import Area, Crosswalk, CrosswalkShare, Layer

AREA_NOW = "area_now"


@dataclass
class ShareRow:
    area: Area
    share: float

    @property
    def percent(self) -> float:
        return 100 * self.share


@dataclass
class AreaComparison:
    area: Area
    target: Layer
    method: str
    rows: list[ShareRow]

    @property
    def method_label(self) -> str:
        return method_label("crosswalk_area" if self.method == AREA_NOW else self.method)

    @property
    def is_exact(self) -> bool:
        return self.method in (NESTED, COMPOSED)


def compare_area(area: Area, target: Layer) -> AreaComparison:
    """The share of ``area``'s residents living in each area of ``target``, and how known.

    Exact where one layer nests in or is composed of the other (the finer areas
    split by their population); a stored crosswalk where there is one; else an
    area-weighted split computed for this one area.
    """
    source = area.layer
    members, method = memberships(source, target)
    if method in (NESTED, COMPOSED):
        containing = [t for t, shares in members.items() if any(s == area.pk for s, _ in shares)]
        return AreaComparison(
            area, target, method, [ShareRow(a, 1.0) for a in Area.objects.filter(pk__in=containing)]
        )
    members, method = memberships(target, source)
    if method in (NESTED, COMPOSED) and members.get(area.pk):
        parts = list(Area.objects.filter(pk__in=[s for s, _ in members[area.pk]]))
        total = sum(a.population or 0 for a in parts)
        if total:
            rows = [ShareRow(a, (a.population or 0) / total) for a in parts if a.population]
            return AreaComparison(area, target, method, sorted(rows, key=lambda r: -r.share))
    crosswalk = Crosswalk.objects.filter(source_layer=source, target_layer=target).first()
    if crosswalk is not None:
        shares = (
            CrosswalkShare.objects.filter(crosswalk=crosswalk, source=area)
            .select_related("target")
            .order_by("-share", "target__code")
        )
        return AreaComparison(
            area,
            target,
            f"crosswalk_{crosswalk.method}",
            [ShareRow(s.target, s.share) for s in shares],
        )
    split = area_splits(source, target, only=[area.pk]).get(area.pk)
    shares = split.shares if split else {}
    targets = Area.objects.in_bulk(list(shares))
    rows = [ShareRow(targets[pk], share) for pk, share in shares.items()]
    return AreaComparison(area, target, AREA_NOW, sorted(rows, key=lambda r: -r.share))
