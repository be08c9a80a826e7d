"""Benchmark of social monitoring on the Berlin demo: coverage, 2SFCA and the analysis page.

    .venv/bin/python bench/monitoring.py [--repeat 3] [--skip-page]

Needs the demo (``manage.py load_demo``, addresses not needed). Prints, worst of
``--repeat`` runs:

- coverage (container) for all 542 Planungsräume × every category (target < 1 s),
- 2SFCA for the 2,880 Kitas with demand at the 542 Planungsräume's points on surface
  (the address file has no positions, so not the 401,032 addresses; target < 10 s),
- the analysis page's first contentful paint in headless Chromium behind gunicorn as the
  README deploys it (DJANGO_DEBUG=false, collected static files, 2 workers), worst over
  the measures (coverage, 2SFCA, an indicator) on the 542 Planungsräume (target < 1.5 s),
  with the time the HTML arrived and the time until every area is coloured,
- the ten Bezirksregionen with the fewest Kita places per child under 6,

with the machine and its load before and after, beside the SQL of the coverage.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from playwright.sync_api import sync_playwright  # noqa: E402

from atlas.monitoring.accessibility import accessibility  # noqa: E402
from atlas.monitoring.coverage import _supply_sql, coverage, coverage_by_category  # noqa: E402
from planning_areas.models import Layer  # noqa: E402
from providers.models import Category  # noqa: E402
from tests.browser.support import STUB_TILE_URL, isolate, launch  # noqa: E402
from tests.production import collect_static, gunicorn, production_environment  # noqa: E402

PLR = "planungsraeume-2021"
BZR = "bezirksregionen-2021"
WORKERS = 2  # as bench/api.py: one per core


def load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def worst(repeat: int, function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return max(times), result


def bench_coverage(repeat: int) -> None:
    layer = Layer.objects.get(slug=PLR)
    categories = list(Category.objects.all())

    seconds, results = worst(repeat, lambda: coverage_by_category(layer, categories))
    print(
        f"coverage, {len(results[categories[0].pk].areas)} Planungsräume × {len(categories)} "
        f"categories, one statement for all: {seconds:.3f} s (worst of {repeat}; target < 1 s; "
        f"load {load()})"
    )
    print("  SQL of the supply (residents come from IndicatorValue, once per age group):")
    print("  " + " ".join(_supply_sql("<published services>").split()))

    def one_by_one():
        shared: dict = {}  # one request's reuse of residents and the area list
        return {c.pk: coverage(layer, c, shared=shared) for c in categories}

    seconds, single = worst(repeat, one_by_one)
    print(
        f"  the same one category at a time (before): {seconds:.3f} s; results identical: "
        f"{_same(results, single)}"
    )


def _same(together: dict, single: dict) -> bool:
    def key(result):
        return (
            result.measure,
            [(a.code, a.figures, a.parent) for a in result.areas],
            result.city,
        )

    return all(key(together[pk]) == key(single[pk]) for pk in single)


def bench_2sfca(repeat: int) -> None:
    layer = Layer.objects.get(slug=PLR)
    kita = Category.objects.get(slug="kita")
    seconds, result = worst(repeat, lambda: accessibility(layer, kita, catchment_m=1000))
    print(
        f"2SFCA Kitas, {result.supply_points} supply locations × {result.demand_points} demand "
        f"points (points on surface of {result.demand_layer.slug}), 1,000 m: {seconds:.3f} s "
        f"(worst of {repeat}; target < 10 s); city {result.city_value:.1f} places per 1,000"
    )
    seconds, _ = worst(
        repeat, lambda: accessibility(layer, kita, catchment_m=1000, decay="gaussian")
    )
    print(f"2SFCA with Gaussian decay: {seconds:.3f} s")


PAGE_MEASURES = [
    ("coverage", "category=kita"),
    ("2sfca", "category=kita"),
    ("indicator", "indicator=child_poverty_percent"),
]


def bench_page(repeat: int) -> None:
    """First paint of /analyse/ behind gunicorn as the README deploys it (DEBUG off,
    collected static files through WhiteNoise, 2 workers), worst over the measures on the
    542 Planungsräume; each run a fresh browser context (nothing cached)."""
    with tempfile.TemporaryDirectory() as static_root:
        env = production_environment(
            Path(static_root),
            ATLAS_TILE_URL=STUB_TILE_URL,  # tiles answered locally by isolate()
            DJANGO_LOG_LEVEL="WARNING",
        )
        started = time.perf_counter()
        collect_static(env)
        print(f"collectstatic: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with gunicorn(env, workers=WORKERS) as base, sync_playwright() as playwright:
            boot = time.perf_counter() - started
            print(f"gunicorn ({WORKERS} workers) answering after {boot:.1f} s")
            browser = launch(playwright)
            worst_paint = worst_drawn = 0.0
            for measure, extra in PAGE_MEASURES:
                url = f"{base}/analyse/?layer={PLR}&measure={measure}&{extra}"
                paints, drawn, server = [], [], []
                for _ in range(repeat):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    isolate(context, base)
                    page = context.new_page()
                    response = page.goto(url, wait_until="load")
                    assert response.status == 200, (url, response.status)
                    page.wait_for_function(PAINTED_JS)
                    paints.append(page.evaluate(FCP_JS))
                    server.append(page.evaluate(TTFB_JS))
                    page.wait_for_function(DRAWN_JS, arg=542, timeout=60_000)
                    drawn.append(page.evaluate("() => performance.now()"))
                    context.close()
                worst_paint = max(worst_paint, *paints)
                worst_drawn = max(worst_drawn, *drawn)
                print(
                    f"  {measure:9} first contentful paint {_runs(paints)}, HTML received "
                    f"{_runs(server)}, all 542 areas coloured {_runs(drawn)} (load {load()})"
                )
            browser.close()
    print(
        f"/analyse/ first contentful paint, worst over {len(PAGE_MEASURES)} measures × {repeat}: "
        f"{worst_paint / 1000:.3f} s (target < 1.5 s); map fully coloured "
        f"{worst_drawn / 1000:.3f} s"
    )


def _runs(milliseconds: list[float]) -> str:
    """Worst and every run, in seconds."""
    runs = "/".join(f"{m / 1000:.2f}" for m in milliseconds)
    return f"{max(milliseconds) / 1000:.3f} s ({runs})"


FCP_JS = "() => performance.getEntriesByName('first-contentful-paint')[0].startTime"
PAINTED_JS = "() => performance.getEntriesByName('first-contentful-paint').length > 0"
TTFB_JS = "() => performance.getEntriesByType('navigation')[0].responseEnd"
DRAWN_JS = "(n) => document.querySelectorAll('#analysis-map path.leaflet-interactive').length >= n"


def fewest_kita_places() -> None:
    result = coverage(Layer.objects.get(slug=BZR), Category.objects.get(slug="kita"))
    rows = sorted(
        (a for a in result.areas if a.figures.residents),
        key=lambda a: a.value("places") if a.value("places") is not None else -1,
    )
    print("\nTen Bezirksregionen with the fewest Kita places per child under 6:")
    print("| Code | Bezirksregion | Kitas | Places | Children under 6 | Places per child |")
    print("|---|---|---:|---:|---:|---:|")
    for area in rows[:10]:
        f = area.figures
        print(
            f"| {area.code} | {area.name} | {f.services} | {f.places or 0:,.0f} | "
            f"{f.residents:,.0f} | {(f.places or 0) / f.residents:.2f} |"
        )
    city = result.city
    print(
        f"City: {city.services} Kitas, {city.places:,.0f} places, {city.residents:,.0f} "
        f"children under 6, {city.places / city.residents:.2f} places per child"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-page", action="store_true")
    args = parser.parse_args()
    print(f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"Load before: {load()}")
    bench_coverage(args.repeat)
    bench_2sfca(args.repeat)
    if not args.skip_page:
        bench_page(args.repeat)
    fewest_kita_places()
    print(f"Load after: {load()}")


if __name__ == "__main__":
    main()
