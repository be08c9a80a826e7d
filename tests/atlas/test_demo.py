"""The demo loader against the real Berlin open data."""

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from atlas import demo
from atlas.lookup.models import Responsibility
from planning_areas.models import Area, Indicator, IndicatorValue, Layer
from providers.models import Contact, Location, Organization, Service

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("demo_db")
class TestDemoData:
    def test_lor_2021_has_the_official_area_counts(self):
        counts = {
            slug: Area.objects.filter(layer__slug=slug).count()
            for slug in (
                "bezirke",
                "prognoseraeume-2021",
                "bezirksregionen-2021",
                "planungsraeume-2021",
            )
        }
        assert counts == {
            "bezirke": 12,
            "prognoseraeume-2021": 58,
            "bezirksregionen-2021": 143,
            "planungsraeume-2021": 542,
        }

    def test_old_lor_2006_edition_lives_beside_the_new_one(self):
        import datetime

        old_plr = Layer.objects.get(slug="planungsraeume-2006")
        assert old_plr.valid_until == datetime.date(2020, 12, 31)
        assert old_plr.areas.count() == 448
        assert Area.objects.filter(layer__slug="bezirksregionen-2006").count() == 138
        # The wrongly published duplicate is imported under its LOR 2006 key.
        assert old_plr.areas.get(code="04030417").name == "Schloßstraße"
        assert old_plr.areas.get(code="06010102").parent.code == "060101"
        current = set(Layer.objects.current().values_list("slug", flat=True))
        assert "planungsraeume-2006" not in current and "planungsraeume-2021" in current
        in_2015 = set(
            Layer.objects.current(datetime.date(2015, 6, 1)).values_list("slug", flat=True)
        )
        assert "planungsraeume-2006" in in_2015 and "planungsraeume-2021" not in in_2015

    @pytest.mark.parametrize(
        ("slug", "length"),
        [
            ("bezirke", 2),
            ("prognoseraeume-2021", 4),
            ("bezirksregionen-2021", 6),
            ("planungsraeume-2021", 8),
        ],
    )
    def test_area_codes_are_official_keys_with_leading_zeros(self, slug, length):
        codes = Area.objects.filter(layer__slug=slug).values_list("code", flat=True)
        assert all(re.fullmatch(rf"\d{{{length}}}", c) for c in codes)
        assert min(codes).startswith("01")

    def test_every_area_below_the_districts_has_a_parent_that_prefixes_its_code(self):
        # Postcode areas are a layer of their own, beside the LOR hierarchy; composed
        # layers have codes of their own.
        areas = (
            Area.objects.exclude(layer__slug__in=["bezirke", "postleitzahlen"])
            .filter(layer__composition__isnull=True)
            .select_related("parent", "layer__parent")
        )
        for area in areas:
            assert area.parent is not None, area
            assert area.parent.layer == area.layer.parent
            assert area.code.startswith(area.parent.code)

    def test_planning_areas_carry_population(self):
        plr = Area.objects.filter(layer__slug="planungsraeume-2021")
        assert not plr.filter(population__isnull=True).exists()
        total = sum(plr.values_list("population", flat=True))
        assert total == 3_897_145
        under_18 = IndicatorValue.objects.filter(
            area__layer__slug="planungsraeume-2021",
            indicator__slug__in=["inhabitants_under_6", "inhabitants_6_15", "inhabitants_15_18"],
        ).aggregate(total=Sum("value"))["total"]
        assert under_18 == 633_840
        assert (
            Area.objects.get(layer__slug="planungsraeume-2021", code="01100101").population == 3580
        )

    @pytest.mark.parametrize(
        ("slug", "file"),
        [
            ("bezirke", "districts"),
            ("prognoseraeume-2021", "forecast-areas"),
            ("bezirksregionen-2021", "district-regions"),
            ("planungsraeume-2021", "planning-areas"),
        ],
    )
    def test_every_lor_level_carries_the_age_groups_of_its_file(self, slug, file):
        path = demo.data_dir() / "population-lor" / f"berlin-lor-population-2024-02-t2-{file}.csv"
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        totals = IndicatorValue.objects.filter(area__layer__slug=slug).values_list(
            "indicator__slug"
        )
        totals = dict(totals.annotate(total=Sum("value")).values_list("indicator__slug", "total"))
        assert totals["inhabitants"] == 3_897_145
        assert totals["inhabitants_under_6"] == sum(int(r["inhabitants_age_below_6"]) for r in rows)
        assert totals["inhabitants_65_plus"] == sum(
            int(r["inhabitants_age_above_65"]) for r in rows
        )

    def test_social_monitoring_indices_keep_their_words(self):
        status = Indicator.objects.get(slug="mss_status")
        values = IndicatorValue.objects.filter(indicator=status)
        assert values.count() == 536  # six Planungsräume have too few residents
        area = values.get(area__code="01100101")
        assert status.label(area.value) == "mittel"
        rate = Indicator.objects.get(slug="child_poverty_percent")
        assert (rate.aggregation, rate.weight.slug) == ("weighted_mean", "mss_residents")

    def test_kita_and_youth_centre_places_add_up_to_the_files_sums(self):
        kitas = Service.objects.filter(external_id__startswith="kita:")
        assert kitas.count() == 2880
        assert kitas.aggregate(places=Sum("capacity"))["places"] == 194_979
        assert not kitas.filter(capacity__isnull=True).exists()
        youth = Service.objects.filter(external_id__startswith="jfe:")
        assert youth.aggregate(places=Sum("capacity"))["places"] == 46_449

    def test_every_youth_centre_and_kita_lies_in_some_planning_area(self):
        for prefix, expected in (("jfe:", 407), ("kita:", 2880)):
            locations = Location.objects.filter(external_id__startswith=prefix)
            assert locations.count() == expected
            inside = locations.filter(areas__layer__slug="planungsraeume-2021").distinct().count()
            assert inside == expected

    def test_stored_areas_agree_with_the_hierarchy(self):
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT count(*) FROM providers_location_areas la
                JOIN planning_areas_area plr ON plr.id = la.area_id
                JOIN planning_areas_layer l
                  ON l.id = plr.layer_id AND l.slug = 'planungsraeume-2021'
                JOIN planning_areas_area bzr ON bzr.id = plr.parent_id
                WHERE NOT EXISTS (SELECT 1 FROM providers_location_areas x
                                  WHERE x.location_id = la.location_id AND x.area_id = bzr.id)
                """
            )
            assert cursor.fetchone()[0] == 0

    def test_organisations_come_from_the_traeger_fields(self):
        assert Organization.objects.filter(kind="public").exists()
        awo = Organization.objects.filter(name__icontains="Arbeiterwohlfahrt")
        assert awo.exists()
        assert Service.objects.filter(organization__in=awo).count() > 1

    def test_community_centres_are_categorised(self):
        osm = Service.objects.filter(external_id__startswith="osm:")
        # 416 centres, five without a name: three named by category and street, two left out
        # (no street either).
        assert osm.count() == 414
        assert osm.filter(name__startswith="Kultur und Vereine, ").count() == 3
        assert not osm.filter(categories__isnull=True).exists()
        assert osm.filter(categories__slug="stadtteilzentrum").exists()

    def test_demo_contacts_are_marked_and_responsible_for_areas(self):
        assert Contact.objects.filter(is_demo=False).count() == 0
        assert Contact.objects.filter(is_demo=True).count() == 12 + 58 + 143
        regions = Area.objects.filter(layer__slug="bezirksregionen-2021")
        assert (
            Responsibility.objects.filter(area__in=regions).values("area").distinct().count() == 143
        )
        assert not Contact.objects.filter(
            visibility="public", publication_consent_date__isnull=True
        ).exists()

    def test_hsds_export_of_the_whole_demo_validates(self):
        from providers.hsds import TABLES, build
        from tests.providers.test_hsds import validate

        tables = build()
        assert len(tables["services"]) == Service.objects.published().count()
        for table in TABLES:
            for record in tables[table]:
                validate(table, record)

    def test_a_second_run_changes_nothing(self):
        before = _snapshot()
        out = io.StringIO()
        call_command("load_demo", "--skip-addresses", stdout=out)
        assert _snapshot() == before
        assert " new, 0 changed" in out.getvalue()
        assert not re.search(r"\b[1-9]\d* (new|changed|removed)", out.getvalue())


def _snapshot():
    return {
        "layers": list(Layer.objects.values_list("slug", "name")),
        "areas": Area.objects.count(),
        "services": list(Service.objects.order_by("pk").values_list("pk", "name", "updated_at")),
        "organizations": list(Organization.objects.order_by("pk").values_list("pk", "updated_at")),
        "locations": list(Location.objects.order_by("pk").values_list("pk", "updated_at")),
        "contacts": list(Contact.objects.order_by("pk").values_list("pk", "updated_at")),
        "responsibilities": Responsibility.objects.count(),
        "history": Service.history.count(),
    }
