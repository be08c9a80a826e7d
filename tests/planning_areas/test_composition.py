"""Composed layers (Baukasten): mappings, unions in PostGIS, rebuilds and bad input."""

import csv
import datetime
import io

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command

from atlas.demo import data_dir
from planning_areas.composition import (
    CompositionError,
    compose_layer,
    export_mapping,
    read_mapping,
)
from planning_areas.imports.areas import import_areas
from planning_areas.models import Area, Composition, CompositionUnit, Layer
from tests.factories import AreaFactory, LayerFactory, square

pytestmark = pytest.mark.django_db

SIZE = 0.01


@pytest.fixture
def base():
    """Four base units in a row (a1 a2 a3 a4) below one district, each with a population."""
    district_layer = LayerFactory(slug="bezirke-t", level=1)
    district = AreaFactory(
        layer=district_layer, code="01", name="Mitte", geometry=square(13.0, 52.0, 4 * SIZE)
    )
    layer = LayerFactory(
        slug="plr-t",
        level=2,
        parent=district_layer,
        valid_from=datetime.date(2021, 1, 1),
        valid_until=datetime.date(2030, 12, 31),
    )
    for i in range(4):
        AreaFactory(
            layer=layer,
            code=f"a{i + 1}",
            name=f"Unit {i + 1}",
            parent=district,
            population=100 * (i + 1),
            geometry=square(13.0 + i * SIZE, 52.0, SIZE),
        )
    return layer


def _rows(text: str):
    return read_mapping(text.encode())


def test_dry_run_reports_the_areas_and_writes_nothing(base):
    report = compose_layer(
        base,
        _rows("base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\na4,S,Süd\n"),
        layer_slug="sozialraeume",
        layer_name="Sozialräume",
    )
    assert [(a.code, a.name, a.base_codes) for a in report.areas] == [
        ("N", "Nord", ["a1", "a2"]),
        ("S", "Süd", ["a3", "a4"]),
    ]
    assert not report.errors and not report.committed
    assert not Layer.objects.filter(slug="sozialraeume").exists()


def test_commit_stores_unions_populations_and_the_composition(base):
    compose_layer(
        base,
        _rows("base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\na4,S,Süd\n"),
        layer_slug="sozialraeume",
        layer_name="Sozialräume",
        commit=True,
    )
    north = Area.objects.get(layer__slug="sozialraeume", code="N")
    expected = shapely.box(13.0, 52.0, 13.0 + 2 * SIZE, 52.0 + SIZE)
    assert shapely.from_wkt(north.geometry.wkt).symmetric_difference(expected).area < 1e-12
    assert north.population == 300
    assert Area.objects.get(layer__slug="sozialraeume", code="S").population == 700
    units = CompositionUnit.objects.filter(composition__layer__slug="sozialraeume")
    assert sorted(units.values_list("base_code", "code")) == [
        ("a1", "N"),
        ("a2", "N"),
        ("a3", "S"),
        ("a4", "S"),
    ]


def test_composed_areas_get_parents_in_the_base_layers_hierarchy(base):
    compose_layer(
        base,
        _rows("base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\na4,S,Süd\n"),
        layer_slug="sozialraeume",
        layer_name="Sozialräume",
        commit=True,
    )
    layer = Layer.objects.get(slug="sozialraeume")
    assert layer.parent.slug == "bezirke-t" and layer.level == 2
    assert {a.parent.code for a in layer.areas.all()} == {"01"}


def test_a_new_composed_layer_keeps_the_base_layers_validity(base):
    compose_layer(
        base,
        _rows("base_code,code,name\na1,N,Nord\n"),
        layer_slug="sozialraeume",
        layer_name="Sozialräume",
        commit=True,
    )
    layer = Layer.objects.get(slug="sozialraeume")
    assert (layer.valid_from, layer.valid_until) == (base.valid_from, base.valid_until)


def test_units_left_out_and_disconnected_parts_are_reported(base):
    report = compose_layer(
        base,
        _rows("base_code,code,name\na1,X,Zerrissen\na3,X,Zerrissen\n"),
        layer_slug="sozialraeume",
        layer_name="Sozialräume",
    )
    assert report.left_out == ["a2", "a4"]
    assert [(a.code, a.parts) for a in report.disconnected] == [("X", 2)]
    text = "\n".join(report.summary_lines())
    assert "left out" in text and "disconnected parts: X (2)" in text


def test_a_unit_assigned_twice_is_refused_and_nothing_is_written(base):
    rows = _rows("base_code,code,name\na1,N,Nord\na1,S,Süd\na2,S,Süd\n")
    report = compose_layer(base, rows, layer_slug="sozialraeume", layer_name="Sozialräume")
    assert report.assigned_twice == {"a1": ["N", "S"]}
    with pytest.raises(CompositionError, match="assigned more than once: a1 → N, S"):
        compose_layer(base, rows, layer_slug="sozialraeume", layer_name="Sozialräume", commit=True)
    assert not Layer.objects.filter(slug="sozialraeume").exists()
    assert not Composition.objects.exists()


def test_an_unknown_code_is_refused_and_nothing_is_written(base):
    rows = _rows("base_code,code,name\na1,N,Nord\nzz9,N,Nord\n")
    with pytest.raises(CompositionError, match="not found on layer “plr-t”: zz9"):
        compose_layer(base, rows, layer_slug="sozialraeume", layer_name="Sozialräume", commit=True)
    assert not Layer.objects.filter(slug="sozialraeume").exists()


def test_one_area_with_two_names_is_refused(base):
    rows = _rows("base_code,code,name\na1,N,Nord\na2,N,Norden\n")
    with pytest.raises(CompositionError, match="different names: N"):
        compose_layer(base, rows, layer_slug="s", layer_name="S", commit=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"base_code,code,name\n", "header but no rows"),
        (b"plr,bzr,name\na1,N,Nord\n", "missing: base_code, code"),
        (b"base_code;code\na1;N\n", "missing: name"),
        (b"base_code,code,name\na1,N,No\x00rd\n", "NUL bytes"),
        (b"base_code,code,name\na1,N,\xff\xfeNord\n", "not UTF-8"),
        (b"base_code,code,name\na1,N,<script>alert(1)</script>\n", "line 2: the name"),
        (b"base_code,code,name\na1,N,Nord\x07\n", "line 2: the name"),
        (b"base_code,code,name\n,N,Nord\n", "line 2: “base_code”"),
        (b"base_code,code,name\na1,N N,Nord\n", "line 2: “code”"),
        (b"base_code,code,name\na1," + b"9" * 41 + b",Nord\n", "line 2: “code”"),
        (b"base_code,code,name\na1,N," + "ü".encode() * 201 + b"\n", "line 2: the name"),
    ],
)
def test_bad_mapping_files_get_a_clear_error(content, message):
    with pytest.raises(CompositionError, match=message):
        read_mapping(content)


def test_semicolon_csv_with_bom_as_excel_saves_it_is_read():
    rows = read_mapping("\ufeffBase_Code;Code;Name\r\na1;N;Nord\r\n".encode())
    assert [(r.base_code, r.code, r.name) for r in rows] == [("a1", "N", "Nord")]


def test_an_existing_ordinary_layer_is_not_overwritten(base):
    LayerFactory(slug="amtlich")
    with pytest.raises(CompositionError, match="is not a composed layer"):
        compose_layer(base, _rows("base_code,code,name\na1,N,Nord\n"), layer_slug="amtlich")


def test_moving_a_unit_in_the_mapping_rebuilds_both_areas(base):
    mapping = "base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\na4,S,Süd\n"
    compose_layer(base, _rows(mapping), layer_slug="sr", layer_name="SR", commit=True)
    report = compose_layer(
        base, _rows(mapping.replace("a2,N,Nord", "a2,S,Süd")), layer_slug="sr", commit=True
    )
    assert sorted(report.changed) == ["N", "S"]
    assert Area.objects.get(layer__slug="sr", code="S").population == 900


def test_reimporting_the_base_layer_rebuilds_the_composed_layer(base):
    compose_layer(
        base,
        _rows("base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\na4,S,Süd\n"),
        layer_slug="sr",
        layer_name="SR",
        commit=True,
    )
    # The new edition of the base units: a4 grows to twice its width.
    frame = gpd.GeoDataFrame(
        {"code": ["a1", "a2", "a3", "a4"], "name": ["1", "2", "3", "4"]},
        geometry=[
            shapely.box(13.0 + i * SIZE, 52.0, 13.0 + (i + 1 + (i == 3)) * SIZE, 52.0 + SIZE)
            for i in range(4)
        ],
        crs="EPSG:4326",
    )
    report = import_areas(frame, base, code_field="code", name_field="name", commit=True)
    assert report.rebuilt_layers == ["sr"]
    south = Area.objects.get(layer__slug="sr", code="S")
    assert south.geometry.extent[2] == pytest.approx(13.0 + 5 * SIZE)


def test_exported_mapping_composes_the_same_layer_again(base):
    mapping = "base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\na4,S,Süd\n"
    compose_layer(base, _rows(mapping), layer_slug="sr", layer_name="SR", commit=True)
    exported = export_mapping(Composition.objects.get(layer__slug="sr"))
    assert exported == mapping
    report = compose_layer(base, _rows(exported), layer_slug="sr", commit=True)
    assert not (report.created or report.changed or report.removed)


def test_command_refuses_a_bad_mapping_and_writes_nothing(base, tmp_path):
    path = tmp_path / "mapping.csv"
    path.write_text("base_code,code,name\na1,N,Nord\na1,S,Süd\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="errors; nothing was written"):
        call_command(
            "compose_layer",
            "--from",
            "plr-t",
            "--mapping",
            str(path),
            "--layer",
            "sr",
            "--layer-name",
            "SR",
            stdout=out,
        )
    assert "assigned more than once" in out.getvalue()
    with pytest.raises(CommandError, match="assigned more than once"):
        call_command(
            "compose_layer",
            "--from",
            "plr-t",
            "--mapping",
            str(path),
            "--layer",
            "sr",
            "--layer-name",
            "SR",
            "--commit",
            stdout=out,
        )
    assert not Layer.objects.filter(slug="sr").exists()


def _official_mapping(path, code_of, name_of) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["base_code", "code", "name"])
    with open(path, encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            writer.writerow([row["Planungsraum (Nummer)"], code_of(row), name_of(row)])
    return out.getvalue().encode()


@pytest.mark.slow
@pytest.mark.usefixtures("demo_db")
@pytest.mark.parametrize(
    ("official", "code_of", "name_of", "count"),
    [
        (
            "bezirksregionen-2021",
            lambda r: r["Bezirksregion (Nummer)"],
            lambda r: r["Bezirksregion (Name)"],
            143,
        ),
        ("bezirke", lambda r: r["Planungsraum (Nummer)"][:2], lambda r: r["Bezirk"], 12),
    ],
)
def test_lor_hierarchy_composed_from_planning_areas_matches_the_official_layer(
    official, code_of, name_of, count
):
    hierarchy = data_dir() / "lor-2021-hierarchy" / "LOR_2021.csv"
    rows = read_mapping(_official_mapping(hierarchy, code_of, name_of))
    base = Layer.objects.get(slug="planungsraeume-2021")
    report = compose_layer(base, rows, layer_slug="composed", layer_name="Composed", commit=True)
    assert not report.errors and not report.left_out and len(report.areas) == count
    composed = {a.code: a for a in Area.objects.filter(layer__slug="composed")}
    reference = {a.code: a for a in Area.objects.filter(layer__slug=official)}
    assert set(composed) == set(reference)
    for code, area in composed.items():
        ratio = (
            area.geometry.transform(25833, clone=True).area
            / reference[code].geometry.transform(25833, clone=True).area
        )
        assert ratio == pytest.approx(1.0, abs=0.001), code
        assert area.population == reference[code].population, code
