"""import_indicators: one table of figures per area, checked whole, written all or nothing."""

import datetime
import io
import time
import zipfile

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from planning_areas.imports.indicators import (
    IndicatorImportError,
    import_indicators,
    parse_number,
    read_mapping,
)
from planning_areas.models import Indicator, IndicatorValue
from tests.factories import AreaFactory, LayerFactory

pytestmark = pytest.mark.django_db

MAPPING = """
period = 2024-12-31
source = "Statistik"
licence = "CC BY 4.0"

[indicators.kids]
column = "under_6"
name = "Kinder unter 6"
aggregation = "sum"
age_from = 0
age_below = 6

[indicators.people]
column = "inhabitants"
aggregation = "sum"

[indicators.poverty]
column = "poverty"
unit = "%"
aggregation = "weighted_mean"
weight = "people"
polarity = "higher_worse"
"""


@pytest.fixture
def layer():
    layer = LayerFactory(slug="plr")
    for code in ("01000001", "01000002", "01000003"):
        AreaFactory(layer=layer, code=code)
    return layer


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def write_csv(tmp_path, text, name="values.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


GOOD = "id,under_6,inhabitants,poverty\n01000001,10,100,12.5\n01000002,20,300,\n"


def test_dry_run_reports_values_and_writes_nothing(tmp_path, layer, mapping):
    report = import_indicators(
        write_csv(tmp_path, GOOD), layer="plr", code_field="id", mapping=mapping
    )
    assert (report.values_created, report.empty_cells, report.committed) == (5, 1, False)
    assert report.indicators_created == ["kids", "people", "poverty"]
    assert not Indicator.objects.exists()
    assert not IndicatorValue.objects.exists()


def test_commit_writes_indicators_with_their_aggregation_and_values(tmp_path, layer, mapping):
    import_indicators(
        write_csv(tmp_path, GOOD), layer="plr", code_field="id", mapping=mapping, commit=True
    )
    poverty = Indicator.objects.get(slug="poverty")
    assert poverty.aggregation == "weighted_mean"
    assert poverty.weight.slug == "people"
    assert poverty.source == "Statistik"
    kids = Indicator.objects.get(slug="kids")
    assert (kids.age_from, kids.age_below, kids.is_age_group) == (0, 6, True)
    values = dict(IndicatorValue.objects.filter(indicator=kids).values_list("area__code", "value"))
    assert values == {"01000001": 10.0, "01000002": 20.0}
    assert set(IndicatorValue.objects.values_list("period", flat=True)) == {
        datetime.date(2024, 12, 31)
    }


def test_second_run_changes_only_what_differs(tmp_path, layer, mapping):
    path = write_csv(tmp_path, GOOD)
    import_indicators(path, layer="plr", code_field="id", mapping=mapping, commit=True)
    changed = write_csv(tmp_path, GOOD.replace("01000002,20", "01000002,21"), "second.csv")
    report = import_indicators(changed, layer="plr", code_field="id", mapping=mapping, commit=True)
    assert (report.values_created, report.values_changed, report.values_unchanged) == (0, 1, 4)
    assert IndicatorValue.objects.get(indicator__slug="kids", area__code="01000002").value == 21


def test_without_mapping_columns_named_like_indicators_are_imported(tmp_path, layer, mapping):
    import_indicators(
        write_csv(tmp_path, GOOD), layer="plr", code_field="id", mapping=mapping, commit=True
    )
    path = write_csv(tmp_path, "code;kids;other\n01000003;7;x\n", "plain.csv")
    report = import_indicators(
        path, layer="plr", code_field="code", period=datetime.date(2025, 6, 30), commit=True
    )
    assert report.ignored_columns == ["other"]
    value = IndicatorValue.objects.get(indicator__slug="kids", area__code="01000003")
    assert (value.value, value.period) == (7.0, datetime.date(2025, 6, 30))


def test_excel_codes_without_leading_zeros_are_padded(tmp_path, layer, mapping):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["id", "under_6", "inhabitants", "poverty"])
    sheet.append([1000001, 4, 40, 1.5])  # Excel turned "01000001" into a number
    path = tmp_path / "values.xlsx"
    workbook.save(path)
    import_indicators(path, layer="plr", code_field="id", mapping=mapping, commit=True)
    assert IndicatorValue.objects.get(indicator__slug="poverty", area__code="01000001").value == 1.5


def errors_of(tmp_path, text, mapping, **kwargs):
    path = write_csv(tmp_path, text)
    with pytest.raises(IndicatorImportError) as caught:
        import_indicators(
            path, layer="plr", code_field="id", mapping=mapping, commit=True, **kwargs
        )
    assert not IndicatorValue.objects.exists()
    assert not Indicator.objects.exists()
    return caught.value.errors


def test_unknown_code_is_refused_with_its_row(tmp_path, layer, mapping):
    errors = errors_of(tmp_path, GOOD + "09999999,1,1,1\n", mapping)
    assert errors == ["Row 4: no area with the code “09999999” on layer plr."]


def test_duplicate_row_is_refused_naming_both_rows(tmp_path, layer, mapping):
    errors = errors_of(tmp_path, GOOD + "01000001,1,1,1\n", mapping)
    assert errors == ["Row 4: the code “01000001” occurs already in row 2."]


@pytest.mark.parametrize(
    "cell", ["zwölf", "nan", "inf", "-Infinity", "1e400", "1.000.000", "1e16", "=1+1", "12 %"]
)
def test_cell_that_is_no_finite_number_is_refused(tmp_path, layer, mapping, cell):
    errors = errors_of(tmp_path, f"id,under_6,inhabitants,poverty\n01000001,{cell},1,1\n", mapping)
    assert errors == [f"Row 2, column “under_6”: “{cell}” is not a number."]


def test_one_bad_cell_among_good_rows_writes_nothing(tmp_path, layer, mapping):
    rows = "".join(f"0100000{i},{i},{i},{i}\n" for i in (1, 2))
    errors_of(tmp_path, "id,under_6,inhabitants,poverty\n" + rows + "01000003,x,1,1\n", mapping)


def test_nul_byte_refuses_the_file_naming_its_row(tmp_path, layer, mapping):
    errors = errors_of(tmp_path, "id,under_6,inhabitants,poverty\n01000001,1\x00,1,1\n", mapping)
    assert len(errors) == 1
    assert "Row 2 of values.csv contains a NUL byte" in errors[0]


def test_markup_in_a_code_is_reported_as_text_not_stored(tmp_path, layer, mapping):
    text = "id,under_6,inhabitants,poverty\n<script>alert(1)</script>,1,1,1\n"
    errors = errors_of(tmp_path, text, mapping)
    assert errors == ["Row 2: no area with the code “<script>alert(1)</script>” on layer plr."]


def test_many_errors_are_capped_and_quick(tmp_path, layer, mapping):
    rows = "".join(f"{i:08d},x,x,x\n" for i in range(20_000))
    started = time.monotonic()
    errors = errors_of(tmp_path, "id,under_6,inhabitants,poverty\n" + rows, mapping)
    assert time.monotonic() - started < 10
    assert len(errors) < 110
    assert errors[-1].startswith("… and ")


def test_missing_code_column_names_the_columns_found(tmp_path, layer, mapping):
    path = write_csv(tmp_path, GOOD)
    with pytest.raises(IndicatorImportError) as caught:
        import_indicators(path, layer="plr", code_field="PLR_ID", mapping=mapping)
    assert caught.value.errors == [
        "The code column “PLR_ID” is not in the file; its columns are: "
        "id, under_6, inhabitants, poverty"
    ]


def test_mapping_column_missing_from_file_is_refused(tmp_path, layer, mapping):
    errors = errors_of(tmp_path, "id,under_6,inhabitants\n01000001,1,1\n", mapping)
    assert errors == ["Columns of the mapping missing from the file: poverty"]


def test_unknown_layer_is_refused(tmp_path, layer, mapping):
    with pytest.raises(IndicatorImportError, match="layer “nope” does not exist"):
        import_indicators(write_csv(tmp_path, GOOD), layer="nope", code_field="id", mapping=mapping)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[indicators.a]\naggregation = 'avg'\n", "aggregation must be one of"),
        ("[indicators.a]\naggregation = 'weighted_mean'\n", "a weighted mean needs weight"),
        ("[indicators.a]\naggregation = 'ratio'\nnumerator = 'b'\n", "a ratio needs"),
        ("[indicators.a]\ncolumn = 5\n", "column must be text"),
        ('[indicators.a]\nname = "x\\u0000"\n', "name contains a NUL byte"),
        ("[indicators.a]\nage_from = 6\nage_below = 3\n", "age_below must be above"),
        ("[indicators.a]\ncolour = 'red'\n", "Unknown keys in indicators.a: colour"),
        ("[indicators.'a b']\n", "is not a slug"),
        ("period = '2024'\n[indicators.a]\n", "period must be a date"),
        ("period = 2024-12-31\n", "names no [indicators.<slug>] tables"),
        ("[indicators.a\n", "is not valid TOML"),
    ],
)
def test_broken_mapping_is_refused_with_a_reason(tmp_path, toml, message):
    path = tmp_path / "m.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(IndicatorImportError) as caught:
        read_mapping(path)
    assert message in str(caught.value)


def test_weight_that_is_no_indicator_is_refused(tmp_path, layer):
    path = tmp_path / "m.toml"
    path.write_text(
        "period = 2024-12-31\n[indicators.rate]\ncolumn = 'under_6'\n"
        "aggregation = 'weighted_mean'\nweight = 'nobody'\n",
        encoding="utf-8",
    )
    errors = errors_of(tmp_path, GOOD, path)
    assert errors == ["indicators.rate: weight “nobody” is no indicator."]


def test_value_without_any_period_is_refused(tmp_path, layer):
    path = tmp_path / "m.toml"
    path.write_text("[indicators.kids]\ncolumn = 'under_6'\n", encoding="utf-8")
    errors = errors_of(tmp_path, GOOD, path)
    assert errors[0].startswith("No period for kids")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("latin.csv", "id,under_6\n01000001,Größe\n".encode("cp1252"), "is not UTF-8"),
        ("fake.xlsx", b"this is no zip file", "it is not a zip archive"),
        ("values.ods", b"PK\x03\x04", "Cannot read “.ods” files"),
        ("header.csv", b"\n\n\n", "is empty"),
        ("blank.xlsx", None, "has no header row"),
        ("twice.csv", b"id,under_6,under_6\n01000001,1,2\n", "Columns occur twice"),
    ],
)
def test_unreadable_file_is_refused_with_a_reason(tmp_path, layer, mapping, name, content, message):
    if content is None:  # an empty workbook
        path = tmp_path / name
        Workbook().save(path)
    else:
        path = write_csv(tmp_path, content, name)
    with pytest.raises(IndicatorImportError) as caught:
        import_indicators(path, layer="plr", code_field="id", mapping=mapping)
    assert message in str(caught.value)


def test_zip_bomb_disguised_as_xlsx_is_refused_before_unpacking(tmp_path, layer, mapping, settings):
    settings.ATLAS_IMPORT_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (210 * 1024 * 1024))
    with pytest.raises(IndicatorImportError, match="unpacks to .* the atlas unpacks at most"):
        import_indicators(path, layer="plr", code_field="id", mapping=mapping)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12.0), (" 12,5 ", 12.5), ("-0.25", -0.25), ("1e3", 1000.0), ("", None), ("  ", None)],
)
def test_parse_number_accepts_plain_and_decimal_comma_numbers(text, expected):
    assert parse_number(text) == expected


def test_command_is_a_dry_run_without_commit(tmp_path, layer, mapping):
    out = io.StringIO()
    call_command(
        "import_indicators",
        str(write_csv(tmp_path, GOOD)),
        layer="plr",
        code_field="id",
        mapping=str(mapping),
        stdout=out,
    )
    assert "Dry run" in out.getvalue()
    assert not IndicatorValue.objects.exists()


def test_command_with_commit_writes_and_prints_errors_on_failure(tmp_path, layer, mapping):
    call_command(
        "import_indicators",
        str(write_csv(tmp_path, GOOD)),
        "--layer=plr",
        "--code-field=id",
        f"--mapping={mapping}",
        "--commit",
        stdout=io.StringIO(),
    )
    assert IndicatorValue.objects.count() == 5
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing imported: 1 error"):
        call_command(
            "import_indicators",
            str(write_csv(tmp_path, GOOD + "01000001,1,1,1\n", "dup.csv")),
            "--layer=plr",
            "--code-field=id",
            f"--mapping={mapping}",
            "--commit",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "occurs already in row 2" in err.getvalue()
    assert IndicatorValue.objects.count() == 5
