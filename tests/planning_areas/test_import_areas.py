"""``manage.py import_areas`` against real files: formats, CRS, encodings and bad input."""

import datetime
import hashlib
import io
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command

from planning_areas.models import Area, Layer
from providers.models import Location
from tests.factories import AreaFactory, LayerFactory, LocationFactory

pytestmark = pytest.mark.django_db

# The open data beside the checkout, or where ATLAS_DEMO_DATA says (as load_demo finds it).
DATA = Path(
    os.environ.get("ATLAS_DEMO_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data"
)
LOR_2021 = DATA / "lor-2021-shp"
LOR_GEOJSON = DATA / "lor-geojson-wgs84"


def _square_25833(x: float, y: float, size: float = 1000.0) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


# Two squares in central Berlin, in ETRS89 / UTM 33N metres.
X, Y = 390000.0, 5819000.0


def _frame(rows, crs="EPSG:25833") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{k: v for k, v in row.items() if k != "geometry"} for row in rows],
        geometry=[row["geometry"] for row in rows],
        crs=crs,
    )


def _two_areas(crs="EPSG:25833") -> gpd.GeoDataFrame:
    return _frame(
        [
            {
                "CODE": "0101",
                "NAME": "Schöneberg Nord",
                "PARENT": "01",
                "geometry": _square_25833(X, Y),
            },
            {
                "CODE": "0102",
                "NAME": "Schöneberg Süd",
                "PARENT": "01",
                "geometry": _square_25833(X + 1000, Y),
            },
        ],
        crs=crs,
    )


def _write_shapefile(frame: gpd.GeoDataFrame, folder: Path, name="areas", **kwargs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.shp"
    frame.to_file(path, driver="ESRI Shapefile", engine="pyogrio", **kwargs)
    return path


def _zip(folder: Path, target: Path, suffixes=(".shp", ".shx", ".dbf", ".prj", ".cpg")) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(folder.iterdir()):
            if file.suffix in suffixes:
                archive.write(file, f"data/{file.name}")
    return target


def snapshot():
    """Everything an area import may touch, to assert that a refused import wrote nothing."""
    return {
        "layers": list(
            Layer.objects.order_by("pk").values_list(
                "pk", "slug", "name", "parent_id", "valid_from", "valid_until"
            )
        ),
        "areas": [
            (
                a.pk,
                a.layer_id,
                a.code,
                a.name,
                a.parent_id,
                hashlib.sha256(bytes(a.geometry.wkb)).hexdigest(),
            )
            for a in Area.objects.order_by("pk")
        ],
        "area_history": Area.history.count(),
        "layer_history": Layer.history.count(),
        "links": list(
            Location.areas.through.objects.order_by("pk").values_list("location_id", "area_id")
        ),
    }


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(
        "import_areas", *[str(a) for a in args], stdout=out, stderr=io.StringIO(), **options
    )
    return out.getvalue()


def refused(*args, **options) -> str:
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run(*args, **options)
    assert snapshot() == before
    return str(excinfo.value)


FIELDS = {"code_field": "CODE", "name_field": "NAME"}


@pytest.fixture
def districts():
    layer = LayerFactory(slug="bezirke", name="Bezirke", level=1)
    # District 01 covers both test squares (in WGS84 after transformation).
    outline = gpd.GeoSeries([_square_25833(X - 5000, Y - 5000, 20000)], crs=25833).to_crs(4326)
    from django.contrib.gis.geos import GEOSGeometry

    AreaFactory(
        layer=layer,
        code="01",
        name="Mitte",
        geometry=GEOSGeometry(shapely.MultiPolygon([outline.iloc[0]]).wkt, srid=4326),
    )
    return layer


def test_zipped_shapefile_in_utm_creates_layer_transformed_to_wgs84(tmp_path, districts):
    shp = _write_shapefile(_two_areas(), tmp_path / "shp")
    archive = _zip(shp.parent, tmp_path / "areas.zip")
    out = run(
        archive,
        layer="prognoseraeume",
        layer_name="Prognoseräume",
        parent_layer="bezirke",
        parent_code_prefix=2,
        commit=True,
        **FIELDS,
    )
    layer = Layer.objects.get(slug="prognoseraeume")
    assert layer.name == "Prognoseräume" and layer.parent == districts and layer.level == 2
    areas = {a.code: a for a in Area.objects.filter(layer=layer)}
    assert set(areas) == {"0101", "0102"}
    assert areas["0101"].name == "Schöneberg Nord"
    assert areas["0101"].parent.code == "01"
    lon, lat = areas["0101"].geometry.centroid.coords
    assert 13.0 < lon < 13.8 and 52.3 < lat < 52.7
    assert "2 new, 0 changed, 0 removed" in out


def test_dry_run_reports_new_changed_removed_and_writes_nothing(tmp_path):
    layer = LayerFactory(slug="plr", name="PLR")
    AreaFactory(layer=layer, code="0101", name="Alter Name")
    AreaFactory(layer=layer, code="0999", name="Wird entfernt")
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    before = snapshot()
    out = run(path, layer="plr", **FIELDS)
    assert snapshot() == before
    assert "1 new, 1 changed, 1 removed, 0 unchanged" in out
    assert "0102" in out and "0999" in out
    assert "Dry run" in out


def test_commit_changes_removes_and_recomputes_location_areas(tmp_path):
    layer = LayerFactory(slug="plr", name="PLR")
    AreaFactory(layer=layer, code="0999", name="Wird entfernt")  # default square covers 13.4/52.52
    location = LocationFactory()
    assert location.areas.filter(code="0999").exists()
    frame = _two_areas()
    path = tmp_path / "areas.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    # Put the location into area 0101.
    centre = gpd.GeoSeries([frame.geometry.iloc[0].centroid], crs=25833).to_crs(4326).iloc[0]
    location.point = f"SRID=4326;POINT({centre.x} {centre.y})"
    location.save()
    out = run(path, layer="plr", commit=True, **FIELDS)
    assert "Stored planning areas of all locations recomputed" in out
    assert set(Area.objects.filter(layer=layer).values_list("code", flat=True)) == {"0101", "0102"}
    assert list(location.areas.values_list("code", flat=True)) == ["0101"]
    # Every write is in the history, the deletion too.
    assert Area.history.filter(code="0999", history_type="-").exists()
    assert Area.history.filter(code="0101", history_type="+").exists()


def test_second_import_of_the_same_file_changes_nothing(tmp_path):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    run(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    before = snapshot()
    out = run(path, layer="plr", commit=True, **FIELDS)
    assert "0 new, 0 changed, 0 removed, 2 unchanged" in out
    assert snapshot() == before


def test_geopackage_imports(tmp_path):
    path = tmp_path / "areas.gpkg"
    _two_areas().to_file(path, driver="GPKG", engine="pyogrio", layer="plr")
    run(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert Area.objects.filter(layer__slug="plr").count() == 2


def test_geopackage_with_several_layers_asks_for_source_layer(tmp_path):
    path = tmp_path / "areas.gpkg"
    _two_areas().to_file(path, driver="GPKG", engine="pyogrio", layer="one")
    _two_areas().to_file(path, driver="GPKG", engine="pyogrio", layer="two", mode="a")
    message = refused(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert "--source-layer" in message and "one" in message and "two" in message
    run(path, layer="plr", layer_name="PLR", source_layer="two", commit=True, **FIELDS)
    assert Area.objects.filter(layer__slug="plr").count() == 2


def test_geojson_in_epsg_25833_is_transformed(tmp_path):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    assert '"EPSG","25833"' in path.read_text() or "25833" in path.read_text()
    run(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    lon, lat = Area.objects.get(code="0101").geometry.centroid.coords
    assert 13.0 < lon < 13.8 and 52.3 < lat < 52.7


def test_cpg_is_honoured(tmp_path):
    shp = _write_shapefile(_two_areas(), tmp_path, encoding="cp1252")
    assert shp.with_suffix(".cpg").exists()
    run(shp, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert Area.objects.get(code="0102").name == "Schöneberg Süd"


def _latin1_without_cpg(tmp_path) -> Path:
    shp = _write_shapefile(_two_areas(), tmp_path, encoding="ISO-8859-1")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0  # no language driver id either: nothing declares the encoding
    dbf.write_bytes(bytes(data))
    assert "Schöneberg".encode("latin-1") in data
    return shp


def test_latin1_dbf_without_cpg_is_refused_naming_encoding_option(tmp_path):
    shp = _latin1_without_cpg(tmp_path)
    message = refused(shp, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert "--encoding" in message and ".cpg" in message


def test_latin1_dbf_without_cpg_imports_with_encoding(tmp_path):
    shp = _latin1_without_cpg(tmp_path)
    run(shp, layer="plr", layer_name="PLR", encoding="latin-1", commit=True, **FIELDS)
    assert Area.objects.get(code="0101").name == "Schöneberg Nord"


def test_shapefile_without_prj_is_refused_naming_srid_option(tmp_path):
    shp = _write_shapefile(_two_areas(), tmp_path)
    shp.with_suffix(".prj").unlink()
    message = refused(shp, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert "--srid" in message and ".prj" in message
    run(shp, layer="plr", layer_name="PLR", srid=25833, commit=True, **FIELDS)
    lon, _lat = Area.objects.get(code="0101").geometry.centroid.coords
    assert 13.0 < lon < 13.8


def test_zipped_shapefile_without_prj_is_refused(tmp_path):
    shp = _write_shapefile(_two_areas(), tmp_path / "shp")
    archive = _zip(shp.parent, tmp_path / "areas.zip", suffixes=(".shp", ".shx", ".dbf"))
    assert "--srid" in refused(archive, layer="plr", layer_name="PLR", commit=True, **FIELDS)


def test_zip_without_shp_is_refused(tmp_path):
    shp = _write_shapefile(_two_areas(), tmp_path / "shp")
    archive = _zip(shp.parent, tmp_path / "areas.zip", suffixes=(".dbf", ".prj"))
    message = refused(archive, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert "no .shp" in message and "areas.dbf" in message


def test_broken_zip_is_refused(tmp_path):
    path = tmp_path / "areas.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    assert "zip" in refused(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)


def test_self_intersecting_polygon_is_repaired_and_listed(tmp_path):
    bowtie = shapely.Polygon([(X, Y), (X + 1000, Y + 1000), (X + 1000, Y), (X, Y + 1000), (X, Y)])
    assert not bowtie.is_valid
    frame = _frame(
        [
            {"CODE": "0101", "NAME": "Fliege", "geometry": bowtie},
            {"CODE": "0102", "NAME": "Quadrat", "geometry": _square_25833(X + 2000, Y)},
        ]
    )
    path = tmp_path / "areas.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    out = run(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert "1 invalid geometries repaired" in out
    assert "0101: Self-intersection" in out
    area = Area.objects.get(code="0101")
    assert area.geometry.valid
    assert area.geometry.num_geom == 2


def test_duplicate_codes_are_refused(tmp_path):
    frame = _frame(
        [
            {"CODE": "0101", "NAME": "A", "geometry": _square_25833(X, Y)},
            {"CODE": "0101", "NAME": "B", "geometry": _square_25833(X + 1000, Y)},
        ]
    )
    path = tmp_path / "areas.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    LayerFactory(slug="plr")
    message = refused(path, layer="plr", commit=True, **FIELDS)
    assert "more than once" in message and "0101" in message and "1, 2" in message


def test_empty_codes_are_refused(tmp_path):
    frame = _frame(
        [
            {"CODE": "0101", "NAME": "A", "geometry": _square_25833(X, Y)},
            {"CODE": " ", "NAME": "B", "geometry": _square_25833(X + 1000, Y)},
        ]
    )
    path = tmp_path / "areas.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    assert "empty code" in refused(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_bytes(b"")
    assert "empty" in refused(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)


def test_file_without_features_is_refused(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    message = refused(path, layer="plr", layer_name="PLR", commit=True, **FIELDS)
    assert "no features" in message or "not in the file" in message


def test_missing_code_column_is_named(tmp_path):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    message = refused(
        path, layer="plr", layer_name="PLR", code_field="PLR_ID", name_field="NAME", commit=True
    )
    assert "PLR_ID" in message and "CODE" in message


def test_unknown_layer_without_layer_name_is_refused(tmp_path):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    assert "--layer-name" in refused(path, layer="plr", commit=True, **FIELDS)


def test_missing_parent_codes_are_refused(tmp_path, districts):
    frame = _two_areas()
    frame.loc[1, "PARENT"] = "99"
    path = tmp_path / "areas.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    message = refused(
        path,
        layer="pgr",
        layer_name="PGR",
        parent_layer="bezirke",
        parent_code_field="PARENT",
        commit=True,
        **FIELDS,
    )
    assert "99" in message


def test_parent_code_field_links_parents(tmp_path, districts):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    run(
        path,
        layer="pgr",
        layer_name="PGR",
        parent_layer="bezirke",
        parent_code_field="PARENT",
        commit=True,
        **FIELDS,
    )
    assert set(Area.objects.filter(layer__slug="pgr").values_list("parent__code", flat=True)) == {
        "01"
    }


def test_import_without_parent_options_keeps_stored_parents(tmp_path, districts):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    run(
        path,
        layer="pgr",
        layer_name="PGR",
        parent_layer="bezirke",
        parent_code_prefix=2,
        commit=True,
        **FIELDS,
    )
    out = run(path, layer="pgr", commit=True, **FIELDS)
    assert "0 new, 0 changed, 0 removed, 2 unchanged" in out
    assert not Area.objects.filter(layer__slug="pgr", parent__isnull=True).exists()


def test_new_edition_keeps_the_previous_one_by_validity_dates(tmp_path):
    old = LayerFactory(slug="plr", name="PLR", valid_from=datetime.date(2006, 1, 1))
    AreaFactory(layer=old, code="0999", name="Alt")
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    out = run(path, "--valid-from=2021-01-01", layer="plr", commit=True, **FIELDS)
    assert "plr-bis-2020" in out
    old.refresh_from_db()
    assert old.slug == "plr-bis-2020"
    assert old.valid_until == datetime.date(2020, 12, 31)
    assert list(old.areas.values_list("code", flat=True)) == ["0999"]
    new = Layer.objects.get(slug="plr")
    assert new.valid_from == datetime.date(2021, 1, 1)
    assert set(new.areas.values_list("code", flat=True)) == {"0101", "0102"}
    assert list(Layer.objects.current().values_list("slug", flat=True)) == ["plr"]


def test_bad_date_is_a_readable_error(tmp_path):
    path = tmp_path / "areas.geojson"
    _two_areas().to_file(path, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(
            "import_areas",
            str(path),
            "--layer=plr",
            "--code-field=CODE",
            "--name-field=NAME",
            "--valid-from=2021-13-01",
        )


@pytest.mark.slow
def test_real_lor_2021_planning_areas_dry_run():
    out = run(
        LOR_2021 / "lor_planungsraeume_2021.shp",
        layer="planungsraeume-2021",
        layer_name="Planungsräume 2021",
        code_field="PLR_ID",
        name_field="PLR_NAME",
    )
    assert "542 new, 0 changed, 0 removed" in out
    assert not Area.objects.exists()


@pytest.mark.slow
def test_real_lor_2006_district_regions_import():
    run(
        LOR_GEOJSON / "berlin-lor-district-regions-until-2020.geojson",
        layer="bezirksregionen-2006",
        layer_name="Bezirksregionen 2006",
        valid_until="2020-12-31",
        code_field="id",
        name_field="name",
        commit=True,
    )
    assert Area.objects.filter(layer__slug="bezirksregionen-2006").count() == 138


def test_real_lor_2006_planning_areas_duplicate_code_is_refused():
    message = refused(
        LOR_GEOJSON / "berlin-lor-planning-areas-until-2020.geojson",
        layer="planungsraeume-2006",
        layer_name="PLR 2006",
        code_field="id",
        name_field="name",
        commit=True,
    )
    assert "06010102" in message


def test_geojson_with_z_and_m_coordinates_commits_in_2d(tmp_path):
    ring = [
        [13.30, 52.50, 30, 1],
        [13.31, 52.50, 30, 1],
        [13.31, 52.51, 30, 1],
        [13.30, 52.50, 30, 1],
    ]
    path = tmp_path / "stadtteile.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature",'
        ' "properties": {"CODE": "1", "NAME": "Nord"},'
        f' "geometry": {{"type": "Polygon", "coordinates": [{ring}]}}}}]}}'
    )
    dry = run(path, layer="stadtteile", layer_name="Stadtteile", **FIELDS)
    assert "1 neu" in dry or "1 new" in dry
    run(path, layer="stadtteile", layer_name="Stadtteile", commit=True, **FIELDS)
    area = Area.objects.get(layer__slug="stadtteile")
    assert not area.geometry.hasz


def test_field_names_are_matched_without_regard_to_case(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text(_two_areas().to_json())
    run(path, layer="lower", layer_name="Lower", code_field="code", name_field="name", commit=True)
    assert sorted(Area.objects.values_list("name", flat=True)) == [
        "Schöneberg Nord",
        "Schöneberg Süd",
    ]
