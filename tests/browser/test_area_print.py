"""The Sozialraumprofil prints on one A4 page (issue 13 item 6), for a dense area.

The area is demo-like: the Berlin demo's indicator mappings (population by 8 age groups
and the 8 Monitoring Soziale Stadtentwicklung indicators, through import_indicators), its
14 categories from fixtures/berlin/profile.toml, and services with places in every
category, so the profile has every row the demo's densest Planungsräume have.
"""

import csv
import datetime
import re
import tomllib
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

from planning_areas.imports.indicators import import_indicators
from providers.models import Location
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    square,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "fixtures" / "indicators"
PROFILE = ROOT / "fixtures" / "berlin" / "profile.toml"
# A Planungsraum name as long as Berlin's longest ones.
DENSE = "Karl-Marx-Allee-Süd / Strausberger Platz und Umgebung"


def _indicator_file(path: Path, mapping: Path, codes: list[str]) -> None:
    """Values for every column the mapping reads: counts near the demo's densest PLR."""
    entries = tomllib.loads(mapping.read_text(encoding="utf-8"))["indicators"]
    columns = [entry["column"] for entry in entries.values() if "column" in entry]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", *columns])
        for n, code in enumerate(codes):
            row = []
            for i, column in enumerate(columns):
                if "Index" in column:
                    row.append(1 + (n + i) % 3)
                elif "Percent" in column or column in ("Single Parents", "Old Age Poverty"):
                    row.append(12.5 + 3 * n + i)
                else:
                    row.append(1000 * (i + 1) + 37 * n)
            writer.writerow([code, *row])


@pytest.fixture
def dense_area(tmp_path):
    since = datetime.date(2021, 1, 1)
    districts = LayerFactory(slug="bezirke", name="Bezirke", level=1, valid_from=since)
    regions = LayerFactory(
        slug="bzr", name="Bezirksregionen", level=2, parent=districts, valid_from=since
    )
    plr = LayerFactory(slug="plr", name="Planungsräume", level=3, parent=regions, valid_from=since)
    district = AreaFactory(
        layer=districts, code="01", name="Mitte", geometry=square(13.30, 52.45, 0.3)
    )
    region = AreaFactory(
        layer=regions,
        code="0101",
        name="Regierungsviertel",
        parent=district,
        geometry=square(13.35, 52.50, 0.1),
    )
    codes = ["01010101", "01010102", "01010103", "01010104"]
    for i, code in enumerate(codes):
        AreaFactory(
            layer=plr,
            code=code,
            name=DENSE if i == 0 else f"Planungsraum {i}",
            parent=region,
            geometry=square(13.35 + 0.025 * i, 52.50, 0.025),
        )
    for mapping in ("berlin-population-2024.toml", "berlin-mss-2021.toml"):
        table = tmp_path / f"{mapping}.csv"
        _indicator_file(table, MAPPINGS / mapping, codes)
        import_indicators(
            table, layer=plr, code_field="id", mapping=MAPPINGS / mapping, commit=True
        )
    categories = {}
    for entry in tomllib.loads(PROFILE.read_text(encoding="utf-8"))["categories"]:
        categories[entry["slug"]] = CategoryFactory(
            slug=entry["slug"],
            name=entry["name"],
            parent=categories.get(entry.get("parent")),
            colour=entry["colour"],
        )
    for n, category in enumerate(categories.values()):
        for k in range(3 + n % 4):
            ServiceFactory(
                name=f"{category.name} am Strausberger Platz {k + 1}",
                categories=[category],
                capacity=40 + 10 * k if category.slug == "kita" else None,
                min_age=0 if category.slug == "kita" else None,
                max_age=6 if category.slug == "kita" else None,
                locations=[LocationFactory(point=Point(13.355 + 0.001 * k, 52.51, srid=4326))],
            )
    Location.objects.all().refresh_areas()
    return f"/gebiete/plr/{codes[0]}/"


def pdf_pages(pdf: bytes) -> int:
    """Page objects in a PDF (``/Type /Page``, not the ``/Pages`` tree nodes)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_the_sozialraumprofil_of_a_dense_area_prints_on_one_a4_page(page, live_server, dense_area):
    page.goto(live_server.url + dense_area)
    page.emulate_media(media="print")
    profile = page.locator(".sozialraumprofil")
    assert profile.is_visible()
    # Every part of the profile is there to print: 8 age groups, coverage of the leaf
    # categories with services, the MSS indicators with their parent and city values.
    assert profile.locator("table.bars tbody tr").count() == 8
    assert profile.locator("table.profile-table").first.locator("tbody tr").count() >= 10
    assert profile.locator("table.profile-table").nth(1).locator("tbody tr").count() >= 8
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf_pages(pdf) == 1
