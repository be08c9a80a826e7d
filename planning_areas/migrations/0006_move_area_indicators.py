"""Move the free-form ``Area.indicators`` JSON into Indicator and IndicatorValue rows.

Every key becomes an indicator of that slug (aggregation unknown: ``none``; the
import with a mapping can say more later). Numbers become values; words (the MSS
indices published as "hoch", "mittel", …) become codes with ``value_labels``,
so that going back restores them. ``population_date`` is not a figure but the
period of the area's values; without it a value's period is its layer's start
of validity, else the day of the migration. Backwards writes the JSON again.
"""

import datetime

from django.db import migrations
from django.utils.text import slugify

PERIOD_KEY = "population_date"
# Codes the published MSS 2021 gives its verbal indices (Status Index num / verb).
KNOWN_ORDERS = [
    ["hoch", "mittel", "niedrig", "sehr niedrig"],
    ["positiv", "stabil", "negativ"],
]


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    return None


def _codes_for(words: set[str]) -> dict[str, int]:
    for order in KNOWN_ORDERS:
        if words <= set(order):
            return {word: order.index(word) + 1 for word in order}
    return {word: i for i, word in enumerate(sorted(words), start=1)}


def _period(area, today):
    text = area.indicators.get(PERIOD_KEY)
    if isinstance(text, str):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    return area.layer.valid_from or today


def forwards(apps, schema_editor):
    Area = apps.get_model("planning_areas", "Area")
    Indicator = apps.get_model("planning_areas", "Indicator")
    IndicatorValue = apps.get_model("planning_areas", "IndicatorValue")
    today = datetime.date.today()
    areas = list(Area.objects.exclude(indicators={}).select_related("layer").only(
        "id", "indicators", "layer__valid_from"
    ))
    words: dict[str, set[str]] = {}
    for area in areas:
        for key, value in area.indicators.items():
            if key != PERIOD_KEY and isinstance(value, str) and value.strip():
                words.setdefault(key, set()).add(value.strip())
    codes = {key: _codes_for(found) for key, found in words.items()}
    indicators = {}
    values = []
    for area in areas:
        period = _period(area, today)
        for key, value in area.indicators.items():
            if key == PERIOD_KEY:
                continue
            number = _number(value)
            if number is None and isinstance(value, str) and value.strip():
                number = float(codes[key][value.strip()])
            if number is None:
                continue  # null, lists, objects: nothing a figure can hold
            if key not in indicators:
                slug = slugify(key)[:80] or "indicator"
                labels = {str(code): word for word, code in codes.get(key, {}).items()}
                indicators[key], _created = Indicator.objects.get_or_create(
                    slug=slug, defaults={"name": key[:200], "value_labels": labels}
                )
            values.append(
                IndicatorValue(indicator=indicators[key], area=area, period=period, value=number)
            )
    IndicatorValue.objects.bulk_create(values, batch_size=2000, ignore_conflicts=True)


def backwards(apps, schema_editor):
    Area = apps.get_model("planning_areas", "Area")
    IndicatorValue = apps.get_model("planning_areas", "IndicatorValue")
    collected: dict[int, dict] = {}
    rows = IndicatorValue.objects.select_related("indicator").order_by("area_id", "period")
    for row in rows.iterator(chunk_size=2000):
        target = collected.setdefault(row.area_id, {})
        labels = row.indicator.value_labels or {}
        value = row.value
        key = str(int(value)) if value.is_integer() else str(value)
        if key in labels:
            target[row.indicator.slug] = labels[key]
        else:
            target[row.indicator.slug] = int(value) if value.is_integer() else value
        target[PERIOD_KEY] = row.period.isoformat()  # the newest period wins (ordered)
    for area in Area.objects.filter(pk__in=list(collected)).only("id", "indicators"):
        area.indicators = collected[area.pk]
        area.save(update_fields=["indicators"])


class Migration(migrations.Migration):
    dependencies = [("planning_areas", "0005_add_indicators")]

    operations = [migrations.RunPython(forwards, backwards)]
