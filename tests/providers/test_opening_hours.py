import datetime
from zoneinfo import ZoneInfo

from providers.opening_hours import is_open_now, week_schedule

BERLIN = ZoneInfo("Europe/Berlin")
# A Wednesday, 10:30 in Berlin (09:30 UTC in winter).
WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)


def test_open_now_is_judged_in_local_time():
    assert is_open_now("Mo-Fr 09:00-17:00", WEDNESDAY) is True
    assert is_open_now("Mo-Fr 11:00-17:00", WEDNESDAY) is False
    assert is_open_now("Mo-Fr 09:00-17:00", WEDNESDAY.astimezone(datetime.UTC)) is True


def test_missing_or_broken_hours_are_unknown():
    assert is_open_now("", WEDNESDAY) is None
    assert is_open_now("not hours", WEDNESDAY) is None
    assert week_schedule("not hours", WEDNESDAY) == []


def test_week_schedule_reads_in_plain_words(settings):
    settings.LANGUAGE_CODE = "en"
    days = week_schedule("Mo-Fr 09:00-12:00,13:00-17:00; Sa 22:00-02:00", WEDNESDAY)
    assert len(days) == 7
    assert days[0].is_today and days[0].ranges == ["09:00–12:00", "13:00–17:00"]
    saturday, sunday = days[3], days[4]
    assert saturday.ranges == ["22:00–24:00"]
    assert sunday.ranges == ["00:00–02:00"]
    assert days[5].date.weekday() == 0 and days[5].ranges == ["09:00–12:00", "13:00–17:00"]
