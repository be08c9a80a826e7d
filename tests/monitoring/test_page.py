"""/analyse/: the table works without JavaScript, downloads are sanitised, bad input is a 400."""

import io
import re

import pytest
from openpyxl import load_workbook

from planning_areas.models import Area

pytestmark = pytest.mark.django_db


def page(client, **params):
    return client.get("/analyse/", params)


def test_coverage_table_lists_every_area_with_its_figures(client, town):
    response = page(client, layer="plr", measure="coverage", category="kita")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<th scope="row">') == 3
    assert "/gebiete/plr/C/" in html
    assert "400.0" in html  # A: 40 places for 100 children


def test_table_sorts_on_the_server_and_says_so(client, town):
    html = page(
        client, layer="plr", measure="coverage", category="kita", sort="value", order="desc"
    ).content.decode()
    assert html.index("Area A") < html.index("Area B") < html.index("Area C")
    assert 'aria-sort="descending"' in html
    html = page(
        client, layer="plr", measure="coverage", category="kita", sort="value", order="asc"
    ).content.decode()
    assert html.index("Area C") < html.index("Area B")


def test_legend_shows_class_bounds(client, town):
    html = page(client, layer="plr", measure="indicator", indicator="kids").content.decode()
    assert "100.0 to" in html
    assert "to 300.0" in html


def test_page_has_no_inline_script(client, town):
    html = page(client, layer="plr", measure="2sfca", category="kita").content.decode()
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_csv_download_neutralises_formulas_in_names(client, town):
    Area.objects.filter(code="A").update(name='=HYPERLINK("http://evil")')
    response = page(client, layer="plr", measure="coverage", category="kita", format="csv")
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "\n=" not in text and ";=" not in text


def test_xlsx_download_has_the_rows(client, town):
    response = page(client, layer="plr", measure="indicator", indicator="poverty", format="xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("code", "name")
    assert [r[2] for r in rows[1:]] == [10.0, 20.0, 30.0]


@pytest.mark.parametrize(
    "params",
    [
        {"layer": "nope"},
        {"layer": "plr", "measure": "best"},
        {"layer": "plr", "category": "<script>"},
        {"layer": "plr\x00"},
        {"layer": "plr", "scheme": "random"},
    ],
)
def test_bad_parameter_is_a_400_page(client, town, params):
    response = page(client, **params)
    assert response.status_code == 400
    assert b"<script>alert" not in response.content


def test_higher_is_worse_indicators_turn_dark_as_they_rise(client, town):
    html = page(client, layer="plr", measure="indicator", indicator="poverty").content.decode()
    first, last = html.index("#fde725"), html.index("#440154")
    assert first < last  # the lowest class is light, the highest dark
    html = page(client, layer="plr", measure="indicator", indicator="kids").content.decode()
    assert html.index("#440154") < html.index("#fde725")


def test_xlsx_download_keeps_formula_like_names_as_text(client, town):
    Area.objects.filter(code="A").update(name="=1+1")
    response = page(client, layer="plr", measure="coverage", category="kita", format="xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = next(r for r in sheet.iter_rows() if r[0].value == "A")[1]
    assert (cell.value, cell.data_type) == ("=1+1", "s")
