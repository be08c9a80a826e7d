"""Crosswalks (Umschlüsselungen) between layers that do not nest.

For each pair of overlapping areas, the share of the source area's residents
living in the target area, estimated per source area by the best evidence the
atlas has, in this order:

1. **Addresses carrying both codes** (Berlin's address file carries each
   address's Planungsraum and postcode): the share of the source area's
   addresses whose code is the target area's.
2. **Address points** inside the overlap, when nearly every address of the
   source area has a position.
3. **Area** (area-weighted): the share of the source area's surface inside the
   target area, from ``ST_Intersection`` in PostGIS.

Every address counts as the same number of residents (the atlas knows no
household sizes); the crosswalk records its method, the share of residents it
could place and the share split by addresses rather than by area.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .models import Address, Area, Crosswalk, CrosswalkShare, Layer

# Overlaps smaller than this share of the source area are dropped before the area
# weights are normalised: between two editions of the same city the borders are
# digitised differently, and the thin slivers along every street (measured LOR 2021
# vs 2006: 2,474 of 3,088 overlaps are below 0.5 %) are not residents.
MIN_AREA_SHARE = 0.005
# A source area is split by address points only when this share of its addresses
# has a position; a few points in a large area would bias the split.
MIN_POINT_COVERAGE = 0.95


class CrosswalkError(Exception):
    """The crosswalk cannot be built; the message says why."""


@dataclass
class SourceSplit:
    """How one source area's residents are split among target areas."""

    method: str
    shares: dict[int, float]
    placed: float  # share of the source area's residents (or surface) placed at all


@dataclass
class CrosswalkReport:
    source: str
    target: str
    method: str = ""
    placed_share: float = 0.0
    address_share: float = 0.0
    pairs: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    committed: bool = False

    def summary_lines(self) -> list[str]:
        lines = [
            _(
                "%(source)s → %(target)s: %(pairs)d overlapping pairs, method %(method)s,"
                " %(placed).1f %% of residents placed, %(addresses).1f %% split by addresses"
            )
            % {
                "source": self.source,
                "target": self.target,
                "pairs": self.pairs,
                "method": self.method,
                "placed": 100 * self.placed_share,
                "addresses": 100 * self.address_share,
            }
        ]
        lines.append(
            _("Source areas per method: %(methods)s")
            % {"methods": ", ".join(f"{m} {n}" for m, n in sorted(self.methods.items()))}
        )
        if not self.committed:
            lines.append(_("Dry run: nothing was written. Pass --commit to write."))
        return lines


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def area_splits(
    source: Layer, target: Layer, only: list[int] | None = None
) -> dict[int, SourceSplit]:
    """Area-weighted splits of the source areas (or of the ``only`` ones) over the target."""
    area = _table(Area)
    rows = _fetch(
        f"""
        SELECT s.id, t.id,
               CASE WHEN ST_CoveredBy(s.geometry, t.geometry)
                    THEN ST_Area(s.geometry::geography)
                    ELSE ST_Area(ST_Intersection(s.geometry, t.geometry)::geography) END,
               ST_Area(s.geometry::geography)
        FROM {area} s JOIN {area} t
          ON t.layer_id = %(target)s AND ST_Intersects(s.geometry, t.geometry)
        WHERE s.layer_id = %(source)s AND (%(only)s::bigint[] IS NULL OR s.id = ANY(%(only)s))
        """,  # noqa: S608 - table names from model metadata; values are parameters
        {"source": source.pk, "target": target.pk, "only": only},
    )
    overlaps: dict[int, dict[int, float]] = defaultdict(dict)
    surface: dict[int, float] = {}
    for source_id, target_id, overlap, total in rows:
        surface[source_id] = total
        if total and overlap / total >= MIN_AREA_SHARE:
            overlaps[source_id][target_id] = overlap
    splits = {}
    for source_id, targets in overlaps.items():
        covered = sum(targets.values())
        splits[source_id] = SourceSplit(
            Crosswalk.Method.AREA,
            {t: v / covered for t, v in targets.items()},
            min(1.0, covered / surface[source_id]),
        )
    return splits


def _code_counts(source: Layer, target: Layer) -> tuple[dict, dict]:
    """Address counts per (source, target) from the codes addresses carry, and totals.

    An address carries its official area (a row of one layer) and its postcode
    (matched by code against a layer's areas); a crosswalk between those two
    layers, either way round, can be counted from the addresses alone.
    """
    address, area = _table(Address), _table(Area)
    sides = {
        # layer → SQL giving the area id of an address "a" on that layer
        "official": "a.area_id",
        "postcode": "pc.id",
    }
    layer_of_official = _fetch(
        f"SELECT DISTINCT o.layer_id FROM {address} a JOIN {area} o ON o.id = a.area_id",  # noqa: S608
        {},
    )
    official_layers = {row[0] for row in layer_of_official}

    def side(layer: Layer) -> str | None:
        if layer.pk in official_layers:
            return "official"
        matched, with_postcode = _fetch(
            f"""
            SELECT count(pc.id), count(*) FROM {address} a
            LEFT JOIN {area} pc ON pc.layer_id = %(layer)s AND pc.code = a.postcode
            WHERE a.postcode <> ''
            """,  # noqa: S608
            {"layer": layer.pk},
        )[0]
        # Most postcodes must be codes of the layer: a few equal codes are a coincidence.
        return "postcode" if with_postcode and matched >= 0.5 * with_postcode else None

    source_side, target_side = side(source), side(target)
    if not source_side or not target_side or source_side == target_side:
        return {}, {}
    rows = _fetch(
        f"""
        SELECT {sides[source_side]}, {sides[target_side]}, count(*)
        FROM {address} a
        JOIN {area} o ON o.id = a.area_id
        LEFT JOIN {area} pc ON pc.layer_id = %(postcodes)s AND pc.code = a.postcode
        WHERE {sides[source_side]} IS NOT NULL
          AND (o.layer_id = %(official)s)
        GROUP BY 1, 2
        """,  # noqa: S608 - fragments are constants above; values are parameters
        {
            "postcodes": (source if source_side == "postcode" else target).pk,
            "official": (source if source_side == "official" else target).pk,
        },
    )
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    totals: dict[int, int] = defaultdict(int)
    for source_id, target_id, n in rows:
        totals[source_id] += n
        if target_id is not None:
            counts[source_id][target_id] = n
    return counts, totals


def _point_counts(source: Layer, target: Layer) -> tuple[dict, dict]:
    """Address points per (source, target) overlap, and the addresses each source area has."""
    address, area = _table(Address), _table(Area)
    rows = _fetch(
        f"""
        SELECT s.id, t.id, count(*)
        FROM {address} a
        JOIN {area} s ON s.layer_id = %(source)s AND ST_Covers(s.geometry, a.point)
        LEFT JOIN {area} t ON t.layer_id = %(target)s AND ST_Covers(t.geometry, a.point)
        WHERE a.point IS NOT NULL
        GROUP BY 1, 2
        """,  # noqa: S608 - table names from model metadata; values are parameters
        {"source": source.pk, "target": target.pk},
    )
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for source_id, target_id, n in rows:
        if target_id is not None:
            counts[source_id][target_id] = n
    totals = dict(
        _fetch(
            f"""
            SELECT s.id, count(*) FROM {address} a JOIN {area} s
              ON s.layer_id = %(source)s
             AND (a.area_id = s.id OR (a.point IS NOT NULL AND ST_Covers(s.geometry, a.point)))
            WHERE s.id = ANY(%(ids)s)
            GROUP BY 1
            """,  # noqa: S608
            {"source": source.pk, "ids": list(counts)},
        )
    )
    with_points = {s: sum(n for n in dict(r).values()) for s, r in counts.items()}
    return counts, {s: max(totals.get(s, 0), with_points[s]) for s in counts}


def compute_splits(source: Layer, target: Layer) -> dict[int, SourceSplit]:
    """The split of every source area's residents, by the best evidence for each.

    Address evidence first; the (costly) intersections only for the source areas
    that no address split.
    """
    splits: dict[int, SourceSplit] = {}
    code_counts, code_totals = _code_counts(source, target)
    for source_id, targets in code_counts.items():
        placed = sum(targets.values())
        if placed:
            splits[source_id] = SourceSplit(
                Crosswalk.Method.ADDRESS_CODES,
                {t: n / placed for t, n in targets.items()},
                placed / code_totals[source_id],
            )
    point_counts, point_totals = _point_counts(source, target)
    for source_id, targets in point_counts.items():
        placed = sum(targets.values())
        if source_id in splits:
            continue
        if placed and placed >= MIN_POINT_COVERAGE * point_totals[source_id]:
            splits[source_id] = SourceSplit(
                Crosswalk.Method.ADDRESS_POINTS,
                {t: n / placed for t, n in targets.items()},
                placed / point_totals[source_id],
            )
    remaining = list(
        Area.objects.filter(layer=source).exclude(pk__in=list(splits)).values_list("pk", flat=True)
    )
    if remaining:
        splits.update(area_splits(source, target, only=remaining))
    return splits


def build_crosswalk(source: Layer, target: Layer, *, commit: bool = False) -> CrosswalkReport:
    """Compute the crosswalk ``source`` → ``target``; store it (replacing the old) on commit."""
    if source.pk == target.pk:
        raise CrosswalkError(_("A crosswalk needs two different layers."))
    for layer in (source, target):
        if not layer.areas.exists():
            raise CrosswalkError(_("The layer “%(slug)s” has no areas.") % {"slug": layer.slug})
    splits = compute_splits(source, target)
    report = CrosswalkReport(source=source.slug, target=target.slug)
    population = dict(Area.objects.filter(layer=source).values_list("pk", "population"))
    weights = {pk: float(p or 0) for pk, p in population.items()}
    if not sum(weights.values()):
        weights = dict.fromkeys(population, 1.0)
    total = sum(weights.values())
    for source_id, split in splits.items():
        report.methods[split.method] = report.methods.get(split.method, 0) + 1
        report.pairs += len(split.shares)
        report.placed_share += weights[source_id] * split.placed / total
        if split.method != Crosswalk.Method.AREA:
            report.address_share += weights[source_id] / total
    report.method = (
        next(iter(report.methods)) if len(report.methods) == 1 else Crosswalk.Method.MIXED
    )
    if not commit:
        return report
    with transaction.atomic():
        crosswalk, _created = Crosswalk.objects.update_or_create(
            source_layer=source,
            target_layer=target,
            defaults={
                "method": report.method,
                "placed_share": report.placed_share,
                "address_share": report.address_share,
            },
        )
        crosswalk.shares.all().delete()
        CrosswalkShare.objects.bulk_create(
            CrosswalkShare(
                crosswalk=crosswalk,
                source_id=source_id,
                target_id=target_id,
                share=min(1.0, share),
                method=split.method,
            )
            for source_id, split in splits.items()
            for target_id, share in split.shares.items()
            if share > 0
        )
    report.committed = True
    return report


def refresh_crosswalks(layer: Layer) -> list[CrosswalkReport]:
    """Recompute every stored crosswalk from or to ``layer`` (after its areas changed)."""
    return [
        build_crosswalk(c.source_layer, c.target_layer, commit=True)
        for c in Crosswalk.objects.filter(
            Q(source_layer=layer) | Q(target_layer=layer)
        ).select_related("source_layer", "target_layer")
    ]


def refresh_all_crosswalks() -> list[CrosswalkReport]:
    """Recompute every stored crosswalk (after the address index changed)."""
    return [
        build_crosswalk(c.source_layer, c.target_layer, commit=True)
        for c in Crosswalk.objects.select_related("source_layer", "target_layer")
    ]
