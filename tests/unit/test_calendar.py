"""Tests for plugin.calendar: statutory working days (法定工作日).

The 2025 and 2026 schedules below are copied by hand from the State Council
notices (国务院办公厅关于2025年/2026年部分节假日安排的通知) as literal dates,
not computed from chinesecalendar, so a wrong library release is caught.
"""
from __future__ import annotations

import datetime as dt
import warnings

import pytest

from plugin import calendar as cal
from plugin.calendar import CalendarDay, DayInfo, FallbackWarning, WorkingCalendar
from plugin.db import bind

D = dt.date


@pytest.fixture
def calendar_db(tmp_path):
    """A real SQLite database bound to plugin.db with an empty calendar_day table."""
    db = bind(f"sqlite:///{tmp_path}/t.db")
    db.create_tables([CalendarDay])
    yield db
    db.close()


pytestmark = pytest.mark.usefixtures("calendar_db")


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


# -- official schedules (literal dates) -------------------------------------

OFFICIAL = {
    2025: {
        "off": {
            "元旦": days(D(2025, 1, 1), D(2025, 1, 1)),
            "春节": days(D(2025, 1, 28), D(2025, 2, 4)),
            "清明节": days(D(2025, 4, 4), D(2025, 4, 6)),
            "劳动节": days(D(2025, 5, 1), D(2025, 5, 5)),
            "端午节": days(D(2025, 5, 31), D(2025, 6, 2)),
            "国庆节、中秋节": days(D(2025, 10, 1), D(2025, 10, 8)),
        },
        "adjusted": [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)],
        "working_days": 248,  # 365 - 104 weekend days - 18 weekday holidays + 5 adjusted
    },
    2026: {
        "off": {
            "元旦": days(D(2026, 1, 1), D(2026, 1, 3)),
            "春节": days(D(2026, 2, 15), D(2026, 2, 23)),
            "清明节": days(D(2026, 4, 4), D(2026, 4, 6)),
            "劳动节": days(D(2026, 5, 1), D(2026, 5, 5)),
            "端午节": days(D(2026, 6, 19), D(2026, 6, 21)),
            "中秋节": days(D(2026, 9, 25), D(2026, 9, 27)),
            "国庆节": days(D(2026, 10, 1), D(2026, 10, 7)),
        },
        "adjusted": [
            D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28),
            D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10),
        ],
        "working_days": 248,  # 365 - 104 weekend days - 19 weekday holidays + 6 adjusted
    },
}


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_every_day_matches_official_schedule(year):
    schedule = OFFICIAL[year]
    off = {d for ds in schedule["off"].values() for d in ds}
    adjusted = set(schedule["adjusted"])
    assert all(d.weekday() >= 5 for d in adjusted)
    calendar = WorkingCalendar()
    wrong = []
    for day in days(D(year, 1, 1), D(year, 12, 31)):
        expected = False if day in off else (True if day in adjusted else day.weekday() < 5)
        info = calendar.day_info(day)
        if info.is_workday != expected:
            wrong.append((day, info))
        assert info.source == "chinesecalendar"
    assert wrong == []
    assert calendar.working_days_between(D(year - 1, 12, 31), D(year, 12, 31)) == schedule["working_days"]
    assert calendar.year_source(year) == "chinesecalendar"


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_adjusted_working_days_are_named(year):
    calendar = WorkingCalendar()
    for day in OFFICIAL[year]["adjusted"]:
        assert calendar.day_info(day) == DayInfo(day, True, "调休上班", "chinesecalendar")


@pytest.mark.parametrize(
    "day, name",
    [
        (D(2026, 1, 1), "元旦"),
        (D(2026, 2, 16), "春节"),
        (D(2026, 2, 21), "春节"),  # a Saturday inside the holiday
        (D(2025, 4, 4), "清明节"),
        (D(2025, 5, 1), "劳动节"),
        (D(2025, 5, 31), "端午节"),
        (D(2026, 9, 25), "中秋节"),
        (D(2025, 10, 1), "国庆节"),
        (D(2026, 10, 1), "国庆节"),
        (D(2026, 3, 7), "周末"),
    ],
)
def test_holiday_names_in_chinese(day, name):
    info = WorkingCalendar().day_info(day)
    assert (info.is_workday, info.name, info.source) == (False, name, "chinesecalendar")


def test_ordinary_workday_info():
    assert WorkingCalendar().day_info(D(2026, 3, 9)) == DayInfo(D(2026, 3, 9), True, "工作日", "chinesecalendar")


# -- counting --------------------------------------------------------------


def test_five_working_days_from_friday_before_spring_festival_2026():
    # Fri 13 Feb not counted; Sat 14 Feb adjusted (1); 15–23 off; 24, 25, 26, 27 Feb (2–5).
    calendar = WorkingCalendar()
    assert calendar.add_working_days(D(2026, 2, 13), 5) == D(2026, 2, 27)
    assert calendar.working_days_between(D(2026, 2, 13), D(2026, 2, 27)) == 5


def test_five_working_days_from_friday_before_spring_festival_2025():
    # Fri 24 Jan; Sun 26 Jan adjusted (1); Mon 27 (2); 28 Jan–4 Feb off; 5, 6, 7 Feb (3–5).
    assert WorkingCalendar().add_working_days(D(2025, 1, 24), 5) == D(2025, 2, 7)


def test_start_day_that_is_a_holiday_is_not_counted():
    calendar = WorkingCalendar()
    # National Day 2025: Oct 1–8 off, so day 1 is Thu Oct 9.
    assert calendar.add_working_days(D(2025, 10, 1), 1) == D(2025, 10, 9)
    assert calendar.add_working_days(D(2025, 10, 5), 2) == D(2025, 10, 10)
    # New Year 2026: Jan 1–3 off, Sun Jan 4 is an adjusted working day.
    assert calendar.add_working_days(D(2026, 1, 1), 1) == D(2026, 1, 4)
    # A start on an ordinary weekend also does not count.
    assert calendar.add_working_days(D(2026, 3, 7), 1) == D(2026, 3, 9)


def test_start_day_is_never_counted_even_if_working():
    calendar = WorkingCalendar()
    assert calendar.add_working_days(D(2026, 3, 9), 1) == D(2026, 3, 10)
    assert calendar.working_days_between(D(2026, 3, 9), D(2026, 3, 9)) == 0


def test_zero_days_returns_start_whatever_it_is():
    calendar = WorkingCalendar()
    for start in (D(2025, 10, 1), D(2026, 3, 7), D(2026, 3, 9)):
        assert calendar.add_working_days(start, 0) == start


def test_adjusted_working_saturday_is_counted():
    calendar = WorkingCalendar()
    assert calendar.add_working_days(D(2025, 10, 10), 1) == D(2025, 10, 11)  # Sat, 国庆 adjusted
    assert calendar.add_working_days(D(2026, 5, 8), 1) == D(2026, 5, 9)  # Sat, 劳动节 adjusted
    assert calendar.add_working_days(D(2026, 2, 27), 1) == D(2026, 2, 28)  # Sat, 春节 adjusted
    assert calendar.working_days_between(D(2026, 5, 8), D(2026, 5, 11)) == 2  # Sat 9 + Mon 11


def test_span_crossing_national_day_2025():
    # Fri 26 Sep: Sun 28 (1), 29 (2), 30 (3), Oct 1–8 off, 9 (4), 10 (5), Sat 11 (6), 13–17 (7–11).
    calendar = WorkingCalendar()
    assert calendar.working_days_between(D(2025, 9, 26), D(2025, 10, 17)) == 11
    assert calendar.add_working_days(D(2025, 9, 26), 11) == D(2025, 10, 17)
    # 20 working days from Tue 30 Sep: Oct 9, 10, 11, 13–17, 20–24, 27–31, Nov 3, 4.
    assert calendar.add_working_days(D(2025, 9, 30), 20) == D(2025, 11, 4)


def test_between_is_zero_when_end_not_after_start():
    calendar = WorkingCalendar()
    assert calendar.working_days_between(D(2026, 3, 10), D(2026, 3, 9)) == 0
    assert calendar.working_days_between(D(2026, 3, 10), D(2026, 3, 10)) == 0


@pytest.mark.filterwarnings("ignore::plugin.calendar.FallbackWarning")
def test_between_is_inverse_of_add_for_many_starts():
    calendar = WorkingCalendar()
    for start in days(D(2024, 12, 1), D(2026, 12, 31)):
        for n in (0, 1, 2, 3, 5, 10, 20, 60):
            end = calendar.add_working_days(start, n)
            assert end >= start
            assert calendar.working_days_between(start, end) == n, (start, n, end)
            if n:
                assert calendar.is_workday(end), (start, n, end)
                assert calendar.working_days_between(start, end - dt.timedelta(days=1)) == n - 1


def test_negative_n_is_an_error():
    calendar = WorkingCalendar()
    with pytest.raises(ValueError, match=r"must be >= 0, got -1"):
        calendar.add_working_days(D(2026, 3, 9), -1)
    with pytest.raises(ValueError, match=r">= 0"):
        cal.add_working_days(D(2026, 3, 9), -5)
    with pytest.raises(ValueError, match=r">= 0"):
        cal.add_working_days_from(dt.datetime(2026, 3, 9, 9), -1)
    with pytest.raises(TypeError):
        calendar.add_working_days(D(2026, 3, 9), 1.5)
    with pytest.raises(TypeError):
        calendar.add_working_days("2026-03-09", 1)


# -- fallback years ---------------------------------------------------------


def test_2027_falls_back_to_monday_friday_with_warning():
    calendar = WorkingCalendar()
    assert calendar.year_source(2027) == "fallback"
    assert calendar.fallback_years(D(2025, 6, 1), D(2028, 1, 1)) == [2027, 2028]
    with pytest.warns(FallbackWarning, match="2027 年节假日安排尚未收录，按周一至周五计算工作日；请在日历维护中补录"):
        # Thu 31 Dec 2026: Fri 1 Jan 2027 (1, no data), weekend, Mon 4 (2), Tue 5 (3).
        assert calendar.add_working_days(D(2026, 12, 31), 3) == D(2027, 1, 5)
    assert calendar.day_info(D(2027, 1, 1)) == DayInfo(D(2027, 1, 1), True, "工作日", "fallback")
    assert calendar.day_info(D(2027, 1, 2)) == DayInfo(D(2027, 1, 2), False, "周末", "fallback")


def test_fallback_warning_once_per_instance_and_year():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calendar = WorkingCalendar()
        calendar.add_working_days(D(2026, 12, 31), 30)
        calendar.is_workday(D(2027, 6, 1))
        calendar.working_days_between(D(2027, 1, 1), D(2027, 12, 31))
        calendar.is_workday(D(2028, 3, 1))
        WorkingCalendar().is_workday(D(2027, 3, 1))
    messages = [str(w.message) for w in caught if issubclass(w.category, FallbackWarning)]
    assert [m[:4] for m in messages] == ["2027", "2028", "2027"]


def test_known_years_emit_no_fallback_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        calendar = WorkingCalendar()
        assert calendar.working_days_between(D(2024, 12, 31), D(2026, 12, 31)) == 496
        assert calendar.fallback_years(D(2004, 1, 1), D(2026, 12, 31)) == []
        # Asking where a year comes from is not a computation: no warning either.
        assert calendar.year_source(2030) == "fallback"


# -- overrides --------------------------------------------------------------


def test_override_row_for_2027_changes_result_and_source():
    CalendarDay.create(day=D(2027, 1, 1), is_workday=False, name="元旦")
    calendar = WorkingCalendar()
    assert calendar.year_source(2027) == "override"
    assert calendar.fallback_years(D(2026, 1, 1), D(2028, 12, 31)) == [2028]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)  # 2027 is maintained now
        # Fri 1 Jan off; Mon 4 (1), Tue 5 (2), Wed 6 (3).
        assert calendar.add_working_days(D(2026, 12, 31), 3) == D(2027, 1, 6)
    assert calendar.day_info(D(2027, 1, 1)) == DayInfo(D(2027, 1, 1), False, "元旦", "override")
    assert calendar.day_info(D(2027, 1, 4)) == DayInfo(D(2027, 1, 4), True, "工作日", "fallback")
    assert cal.year_source(2027) == "override"


def test_override_makes_chinesecalendar_workday_a_holiday():
    start = D(2025, 7, 28)  # Monday
    assert WorkingCalendar().add_working_days(start, 3) == D(2025, 7, 31)
    row = CalendarDay.create(day=D(2025, 7, 30), is_workday=False, name="台风停工", note="市防指通知")
    assert row.updated_at is not None
    calendar = WorkingCalendar()
    assert calendar.add_working_days(start, 3) == D(2025, 8, 1)
    assert calendar.day_info(D(2025, 7, 30)) == DayInfo(D(2025, 7, 30), False, "台风停工", "override")
    assert calendar.year_source(2025) == "chinesecalendar"  # the year itself still comes from the package
    assert cal.working_days_between(start, D(2025, 8, 1)) == 3


def test_override_makes_holiday_a_workday_and_default_names():
    CalendarDay.create(day=D(2025, 10, 8), is_workday=True)
    CalendarDay.create(day=D(2026, 3, 7), is_workday=True)
    CalendarDay.create(day=D(2026, 3, 10), is_workday=False)
    calendar = WorkingCalendar()
    assert calendar.day_info(D(2025, 10, 8)) == DayInfo(D(2025, 10, 8), True, "工作日", "override")
    assert calendar.day_info(D(2026, 3, 7)) == DayInfo(D(2026, 3, 7), True, "调休上班", "override")
    assert calendar.day_info(D(2026, 3, 10)) == DayInfo(D(2026, 3, 10), False, "休息日", "override")
    assert calendar.add_working_days(D(2025, 10, 1), 1) == D(2025, 10, 8)


def test_calendar_is_a_snapshot_until_cleared():
    calendar = WorkingCalendar()
    assert calendar.is_workday(D(2025, 7, 30))
    CalendarDay.create(day=D(2025, 7, 30), is_workday=False, name="台风停工")
    assert calendar.is_workday(D(2025, 7, 30))  # cached
    calendar.clear_cache()
    assert not calendar.is_workday(D(2025, 7, 30))


def test_override_cache_does_one_query_per_year(calendar_db, monkeypatch):
    CalendarDay.create(day=D(2025, 7, 30), is_workday=False, name="台风停工")
    statements = []
    real_execute_sql = calendar_db.execute_sql

    def counting_execute_sql(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return real_execute_sql(sql, params, *args, **kwargs)

    monkeypatch.setattr(calendar_db, "execute_sql", counting_execute_sql)
    calendar = WorkingCalendar()
    end = calendar.add_working_days(D(2025, 1, 2), 250)  # runs into 2026
    assert end.year == 2026
    assert calendar.working_days_between(D(2025, 1, 1), D(2026, 12, 31)) == 248 + 248 - 1
    assert calendar.add_working_days(D(2025, 1, 2), 250) == end
    calendar_queries = [s for s in statements if "calendar_day" in s]
    assert len(calendar_queries) == 2
    assert len(statements) == 2
    assert calendar.query_count == 2


# -- special procedures (特别程序) -------------------------------------------


def test_excluded_special_procedure_ranges():
    start, end = D(2025, 9, 26), D(2025, 10, 17)  # 11 working days, see above
    calendar = WorkingCalendar()
    assert calendar.working_days_between_excluding(start, end, []) == 11
    # Hearing on Thu 9 – Fri 10 Oct.
    assert calendar.working_days_between_excluding(start, end, [(D(2025, 10, 9), D(2025, 10, 10))]) == 9
    # Overlapping ranges count each day once: 9, 10, Sat 11 (adjusted), 13 Oct.
    assert cal.working_days_between_excluding(
        start, end, [(D(2025, 10, 9), D(2025, 10, 10)), (D(2025, 10, 10), D(2025, 10, 13))]
    ) == 7
    # A range partly before the span only removes the working days inside it (Sun 28 Sep).
    assert calendar.working_days_between_excluding(start, end, [(D(2025, 9, 1), D(2025, 9, 28))]) == 10
    # A range over holidays only removes nothing.
    assert calendar.working_days_between_excluding(start, end, [(D(2025, 10, 1), D(2025, 10, 8))]) == 11
    # A single-day range.
    assert calendar.working_days_between_excluding(start, end, [(D(2025, 10, 17), D(2025, 10, 17))]) == 10
    assert calendar.working_days_between_excluding(end, start, [(D(2025, 10, 9), D(2025, 10, 10))]) == 0


def test_add_working_days_excluding_is_the_inverse():
    calendar = WorkingCalendar()
    hearing = [(D(2025, 10, 9), D(2025, 10, 10))]
    assert calendar.add_working_days_excluding(D(2025, 9, 26), 9, hearing) == D(2025, 10, 17)
    assert cal.add_working_days_excluding(D(2025, 9, 26), 9, []) == D(2025, 10, 15)
    for start in days(D(2025, 9, 1), D(2025, 10, 31)):
        for n in (1, 5, 10):
            due = calendar.add_working_days_excluding(start, n, hearing)
            assert calendar.working_days_between_excluding(start, due, hearing) == n


def test_invalid_excluded_range_is_an_error():
    with pytest.raises(ValueError, match="ends before it starts"):
        cal.working_days_between_excluding(D(2025, 9, 26), D(2025, 10, 17), [(D(2025, 10, 10), D(2025, 10, 9))])
    with pytest.raises(ValueError, match="pair"):
        cal.working_days_between_excluding(D(2025, 9, 26), D(2025, 10, 17), [D(2025, 10, 10)])


# -- module-level functions and timers -------------------------------------


def test_module_level_functions():
    assert cal.is_workday(D(2026, 2, 14)) is True
    assert cal.is_workday(D(2026, 2, 16)) is False
    assert cal.add_working_days(D(2026, 2, 13), 5) == D(2026, 2, 27)
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 2, 27)) == 5
    assert cal.day_info(D(2026, 2, 16)).name == "春节"
    assert cal.year_source(2026) == "chinesecalendar"
    assert cal.fallback_years(D(2026, 1, 1), D(2026, 12, 31)) == []


def test_add_working_days_from_returns_end_of_day_same_tz():
    beijing = dt.timezone(dt.timedelta(hours=8))
    due = cal.add_working_days_from(dt.datetime(2026, 2, 13, 15, 30, tzinfo=beijing), 5)
    assert due == dt.datetime(2026, 2, 27, 23, 59, 59, tzinfo=beijing)
    assert due.tzinfo is beijing

    naive = cal.add_working_days_from(dt.datetime(2025, 9, 30, 9, 0), 20)
    assert naive == dt.datetime(2025, 11, 4, 23, 59, 59)
    assert naive.tzinfo is None

    assert cal.add_working_days_from(dt.datetime(2025, 10, 1, 8, 0), 0) == dt.datetime(2025, 10, 1, 23, 59, 59)
    with pytest.raises(TypeError):
        cal.add_working_days_from(D(2025, 10, 1), 1)


def test_model_metadata():
    assert CalendarDay._meta.table_name == "calendar_day"
    fields = CalendarDay._meta.fields
    assert fields["day"].unique
    assert {name: fields[name].verbose_name for name in ("day", "is_workday", "name", "note", "updated_at")} == {
        "day": "日期",
        "is_workday": "是否工作日",
        "name": "名称",
        "note": "备注",
        "updated_at": "更新时间",
    }
    row = CalendarDay.create(day=D(2026, 10, 9), is_workday=False, name="台风停工")
    assert CalendarDay.get(CalendarDay.day == D(2026, 10, 9)).note == ""
    assert str(row) == "2026-10-09 放假 台风停工"
