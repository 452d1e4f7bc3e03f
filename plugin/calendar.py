"""Statutory working days (法定工作日) for approval deadlines and timers.

Counting rules
--------------
* A deadline of *N working days* from a start day does **not** count the start
  day, whatever kind of day it is: counting begins on the following day.  If the
  start day is itself a holiday, the first working day after it is day 1.
* Weekends and public holidays (法定节假日) are skipped.
* Adjusted working Saturdays/Sundays (调休上班日) are working days and count.
* ``add_working_days(start, 0)`` is ``start``; a negative ``n`` is an error
  (there is no "subtract" mode).
* ``working_days_between(start, end)`` counts the working days *after* ``start``
  up to and including ``end``, so it is the inverse of ``add_working_days``:
  ``working_days_between(s, add_working_days(s, n)) == n``.
* Special procedures (特别程序: hearings 听证, expert review 专家评审,
  inspection 检验检测 …) do not count towards a deadline:
  ``working_days_between_excluding`` leaves out working days that fall inside
  any of the given inclusive date ranges.

Sources, in order of precedence
-------------------------------
1. ``CalendarDay`` — the ``calendar_day`` override table maintained in the
   admin (日历维护).  A row decides the day outright: it can make a working day
   a holiday (a local typhoon day), record a year the package does not know
   yet, or correct the package.
2. The ``chinesecalendar`` package (import name ``chinese_calendar``) for the
   years it ships data for (2004–2026 in 1.11).  It raises
   ``NotImplementedError`` for any other year; that never escapes from here.
3. Monday–Friday for every other day.  When a year with neither package data
   nor any override row is used in a computation, a :class:`FallbackWarning`
   is emitted once per :class:`WorkingCalendar` instance and year, so the
   operator knows to enter that year's State Council schedule.

A year counts as maintained (``year_source(year) == "override"``) as soon as
the table holds at least one row for it; the days of such a year that have no
row are then taken as Monday–Friday without a warning.  When the State Council
publishes a year that the installed package does not know, enter *all* of its
holidays and adjusted working days, not only some of them.

A :class:`WorkingCalendar` caches the override rows of each year it touches
(one query per year), so it is a snapshot: make a fresh one per computation or
request, or call :meth:`WorkingCalendar.clear_cache` after editing the table.
The module-level functions each use a fresh calendar.
"""
from __future__ import annotations

import datetime as _dt
import functools
import warnings
from typing import Iterable, NamedTuple

import chinese_calendar
import peewee

from plugin.db import ReferenceCache, ReferenceModel, now as _now

__all__ = [
    "CalendarDay",
    "DayInfo",
    "FallbackWarning",
    "WorkingCalendar",
    "SOURCES",
    "is_workday",
    "day_info",
    "add_working_days",
    "add_working_days_from",
    "add_working_days_excluding",
    "working_days_between",
    "working_days_between_excluding",
    "year_source",
    "fallback_years",
    "save_day",
    "delete_day",
]

#: The values ``DayInfo.source`` and ``year_source`` can take.
SOURCES = ("override", "chinesecalendar", "fallback")

#: Longest run of consecutive non-working days tolerated before the counting
#: gives up (the longest real one is 9 days); protects against a calendar_day
#: table that marks everything as a holiday.
MAX_NON_WORKING_RUN = 366

#: Chinese names for the holiday names ``chinese_calendar`` reports.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

NAME_WORKDAY = "工作日"
NAME_WEEKEND = "周末"
NAME_ADJUSTED_WORKDAY = "调休上班"
NAME_DAY_OFF = "休息日"


class FallbackWarning(UserWarning):
    """A computation used a year whose holidays are unknown (Monday–Friday assumed)."""


class CalendarDay(ReferenceModel):
    """One day whose working status is set by hand; it overrides every other source."""

    day = peewee.DateField(unique=True, verbose_name="日期")
    is_workday = peewee.BooleanField(
        verbose_name="是否工作日", help_text="勾选为上班（含调休上班日），不勾选为放假"
    )
    name = peewee.CharField(
        max_length=64, default="", verbose_name="名称", help_text="如 春节、国庆节、调休上班、台风停工"
    )
    note = peewee.TextField(default="", verbose_name="备注")
    updated_at = peewee.DateTimeField(default=_now, verbose_name="更新时间")

    class Meta:
        table_name = "calendar_day"

    def __str__(self) -> str:
        return f"{self.day} {'上班' if self.is_workday else '放假'} {self.name}".rstrip()


class DayInfo(NamedTuple):
    """What the calendar says about one day.

    ``name`` is the holiday name in Chinese when known (春节, 国庆节 …),
    ``调休上班`` for an adjusted working weekend day, otherwise ``周末`` or
    ``工作日`` (or the name entered in the override row).  ``source`` is one of
    ``"override"``, ``"chinesecalendar"``, ``"fallback"``.
    """

    day: _dt.date
    is_workday: bool
    name: str
    source: str


@functools.lru_cache(maxsize=None)
def package_knows_year(year: int) -> bool:
    """True if the installed ``chinesecalendar`` has holiday data for ``year``."""
    try:
        chinese_calendar.is_workday(_dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _package_day(day: _dt.date) -> tuple[bool, str]:
    """``(is_workday, Chinese name)`` of a day in a year the package knows.

    Cached because the package's data is fixed and each of its calls rescans
    its whole table (about 25 µs); bounded by the days of the known years.
    """
    working = bool(chinese_calendar.is_workday(day))
    _, holiday = chinese_calendar.get_holiday_detail(day)
    if working:
        name = NAME_ADJUSTED_WORKDAY if (holiday and day.weekday() >= 5) else NAME_WORKDAY
    elif holiday:
        name = HOLIDAY_NAMES_ZH.get(str(holiday), str(holiday))
    else:
        name = NAME_WEEKEND
    return working, name


def _as_date(value: _dt.date, what: str = "day") -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise TypeError(f"{what} must be a datetime.date, not {type(value).__name__}")


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"the number of working days must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(
            f"the number of working days must be >= 0, got {n}: counting backwards is not supported"
        )
    return n


def _check_ranges(excluded: Iterable[tuple[_dt.date, _dt.date]]) -> list[tuple[_dt.date, _dt.date]]:
    ranges = []
    for item in excluded:
        try:
            first, last = item
        except (TypeError, ValueError):
            raise ValueError(f"an excluded range must be a (first_day, last_day) pair, got {item!r}") from None
        first, last = _as_date(first, "excluded range start"), _as_date(last, "excluded range end")
        if last < first:
            raise ValueError(f"excluded range ends before it starts: {first} .. {last}")
        ranges.append((first, last))
    return ranges


class WorkingCalendar:
    """Statutory working-day calendar: override table, then chinesecalendar, then Mon–Fri.

    Constructed with no arguments.  Override rows are loaded lazily, one query
    per calendar year touched, and cached in the instance (``query_count``
    counts those queries).  The database proxy must be bound.
    """

    def __init__(self) -> None:
        self._overrides: dict[int, dict[_dt.date, CalendarDay]] = {}
        self._warned_years: set[int] = set()
        self.query_count = 0

    # -- sources ---------------------------------------------------------

    def clear_cache(self) -> None:
        """Forget the cached override rows (after editing ``calendar_day``)."""
        self._overrides.clear()

    def _year_overrides(self, year: int) -> dict[_dt.date, CalendarDay]:
        rows = self._overrides.get(year)
        if rows is None:
            query = CalendarDay.select().where(
                CalendarDay.day.between(_dt.date(year, 1, 1), _dt.date(year, 12, 31))
            )
            self.query_count += 1
            rows = {_as_date(row.day): row for row in query}
            self._overrides[year] = rows
        return rows

    def year_source(self, year: int) -> str:
        """Where the holidays of ``year`` come from.

        ``"chinesecalendar"`` if the package knows the year, else ``"override"``
        if the ``calendar_day`` table has rows for it, else ``"fallback"``
        (Monday–Friday).  Override rows still win day by day in a
        ``"chinesecalendar"`` year.
        """
        if package_knows_year(year):
            return "chinesecalendar"
        if self._year_overrides(year):
            return "override"
        return "fallback"

    def fallback_years(self, start: _dt.date, end: _dt.date) -> list[int]:
        """The years from ``start`` to ``end`` (either order) counted Monday–Friday."""
        first, last = sorted((_as_date(start, "start").year, _as_date(end, "end").year))
        return [year for year in range(first, last + 1) if self.year_source(year) == "fallback"]

    def _warn_fallback(self, year: int) -> None:
        if year not in self._warned_years:
            self._warned_years.add(year)
            warnings.warn(
                FallbackWarning(f"{year} 年节假日安排尚未收录，按周一至周五计算工作日；请在日历维护中补录"),
                stacklevel=4,
            )

    # -- single days -----------------------------------------------------

    def day_info(self, day: _dt.date) -> DayInfo:
        """Working status, name and source of ``day`` (a datetime is taken as its date)."""
        day = _as_date(day)
        row = self._year_overrides(day.year).get(day)
        weekend = day.weekday() >= 5
        if row is not None:
            working = bool(row.is_workday)
            if row.name:
                name = row.name
            elif working:
                name = NAME_ADJUSTED_WORKDAY if weekend else NAME_WORKDAY
            else:
                name = NAME_DAY_OFF
            return DayInfo(day, working, name, "override")

        if package_knows_year(day.year):  # so the package cannot raise NotImplementedError
            working, name = _package_day(day)
            return DayInfo(day, working, name, "chinesecalendar")

        if self.year_source(day.year) == "fallback":
            self._warn_fallback(day.year)
        return DayInfo(day, not weekend, NAME_WEEKEND if weekend else NAME_WORKDAY, "fallback")

    def is_workday(self, day: _dt.date) -> bool:
        """True if ``day`` is a statutory working day (adjusted weekend days included)."""
        return self.day_info(day).is_workday

    # -- counting --------------------------------------------------------

    def _next_workday(self, day: _dt.date) -> _dt.date:
        """The first working day strictly after ``day``."""
        for _ in range(MAX_NON_WORKING_RUN):
            day += _dt.timedelta(days=1)
            if self.is_workday(day):
                return day
        raise RuntimeError(
            f"no working day in the {MAX_NON_WORKING_RUN} days up to {day}: check the calendar_day table"
        )

    def add_working_days(self, start: _dt.date, n: int) -> _dt.date:
        """The date of the ``n``-th working day after ``start`` (``start`` itself never counts).

        ``n == 0`` returns ``start``.  Negative ``n`` raises ``ValueError``.
        """
        day = _as_date(start, "start")
        for _ in range(_check_n(n)):
            day = self._next_workday(day)
        return day

    def add_working_days_excluding(
        self, start: _dt.date, n: int, excluded: Iterable[tuple[_dt.date, _dt.date]]
    ) -> _dt.date:
        """Like :meth:`add_working_days`, but working days inside ``excluded`` do not count.

        ``excluded`` is a list of inclusive ``(first_day, last_day)`` ranges
        (special procedures); this is the inverse of
        :meth:`working_days_between_excluding`.
        """
        ranges = _check_ranges(excluded)
        day = _as_date(start, "start")
        for _ in range(_check_n(n)):
            day = self._next_workday(day)
            while any(first <= day <= last for first, last in ranges):
                day = self._next_workday(day)
        return day

    def working_days_between(self, start: _dt.date, end: _dt.date) -> int:
        """Working days after ``start`` up to and including ``end``; 0 if ``end <= start``."""
        return self.working_days_between_excluding(start, end, ())

    def working_days_between_excluding(
        self, start: _dt.date, end: _dt.date, excluded: Iterable[tuple[_dt.date, _dt.date]]
    ) -> int:
        """Working days after ``start`` up to and including ``end``, leaving out special procedures.

        ``excluded`` is a list of inclusive ``(first_day, last_day)`` ranges; a
        working day inside any of them (overlaps counted once) is not counted.
        """
        ranges = _check_ranges(excluded)
        start, end = _as_date(start, "start"), _as_date(end, "end")
        count = 0
        day = start + _dt.timedelta(days=1)
        while day <= end:
            if self.is_workday(day) and not any(first <= day <= last for first, last in ranges):
                count += 1
            day += _dt.timedelta(days=1)
        return count

    def add_working_days_from(self, moment: _dt.datetime, n: int) -> _dt.datetime:
        """End (23:59:59) of the ``n``-th working day after ``moment``'s date, same tzinfo.

        ``n == 0`` gives the end of ``moment``'s own date.  Used for timer due times.
        """
        if not isinstance(moment, _dt.datetime):
            raise TypeError(f"moment must be a datetime.datetime, not {type(moment).__name__}")
        day = self.add_working_days(moment.date(), n)
        return _dt.datetime.combine(day, _dt.time(23, 59, 59), tzinfo=moment.tzinfo)


# -- module-level convenience: one shared calendar, refreshed like other reference data ------

_shared = ReferenceCache()


def _calendar() -> "WorkingCalendar":
    """The process's calendar: override rows are read once per year and kept for `ttl` seconds
    (saving a CalendarDay clears it at once; other processes see the change within the TTL)."""
    return _shared.get("calendar", WorkingCalendar)


def is_workday(day: _dt.date) -> bool:
    """True if ``day`` is a statutory working day (see :meth:`WorkingCalendar.is_workday`)."""
    return _calendar().is_workday(day)


def day_info(day: _dt.date) -> DayInfo:
    """Working status, name and source of ``day`` (see :meth:`WorkingCalendar.day_info`)."""
    return _calendar().day_info(day)


def add_working_days(start: _dt.date, n: int) -> _dt.date:
    """The ``n``-th working day after ``start``, start not counted (see :meth:`WorkingCalendar.add_working_days`)."""
    return _calendar().add_working_days(start, n)


def add_working_days_from(moment: _dt.datetime, n: int) -> _dt.datetime:
    """23:59:59 (same tzinfo) of the ``n``-th working day after ``moment``'s date — a timer due time."""
    return _calendar().add_working_days_from(moment, n)


def add_working_days_excluding(
    start: _dt.date, n: int, excluded: Iterable[tuple[_dt.date, _dt.date]]
) -> _dt.date:
    """The ``n``-th working day after ``start`` not inside any excluded inclusive range."""
    return _calendar().add_working_days_excluding(start, n, excluded)


def working_days_between(start: _dt.date, end: _dt.date) -> int:
    """Working days after ``start`` up to and including ``end``; 0 if ``end <= start``."""
    return _calendar().working_days_between(start, end)


def working_days_between_excluding(
    start: _dt.date, end: _dt.date, excluded: Iterable[tuple[_dt.date, _dt.date]]
) -> int:
    """Working days after ``start`` up to ``end`` inclusive, not counting those in ``excluded`` ranges (特别程序)."""
    return _calendar().working_days_between_excluding(start, end, excluded)


def year_source(year: int) -> str:
    """``"chinesecalendar"``, ``"override"`` or ``"fallback"`` for ``year`` (see :meth:`WorkingCalendar.year_source`)."""
    return _calendar().year_source(year)


def fallback_years(start: _dt.date, end: _dt.date) -> list[int]:
    """Years between ``start`` and ``end`` that are counted Monday–Friday."""
    return _calendar().fallback_years(start, end)


# -- keeping the override table: each change in a unit of work (audited as calendar_day.*,
#    announced as `calendar.changed`) ---------------------------------------------------------

DAY_FIELDS = ("day", "is_workday", "name", "note")


def save_day(actor, values: dict, day_id: int | None = None) -> CalendarDay:
    """Set a day (`day_id` None) or correct one."""
    from plugin.db import assign
    from plugin.i18n import _
    from plugin.work import row_to_edit, unit_of_work
    with unit_of_work(actor, "calendar") as unit:
        created = day_id is None
        row = row_to_edit(CalendarDay, day_id, _("所选日期不存在（可能已被删除）。"))
        assign(row, values, DAY_FIELDS)
        row.updated_at = _now()
        row.save(force_insert=created)
        unit.audit(f"calendar_day.{'create' if created else 'update'}", table="calendar_day", id=row.id,
                   label=str(row)[:200])
        unit.emit("calendar.changed", change="created" if created else "updated", day=row.day)
    ReferenceCache.clear_all()
    return row


def delete_day(actor, day_id: int) -> None:
    """Remove a day's override: the package (or Monday–Friday) decides that day again."""
    from plugin.i18n import _
    from plugin.work import row_to_edit, unit_of_work
    with unit_of_work(actor, "calendar") as unit:
        row = row_to_edit(CalendarDay, day_id, _("所选日期不存在（可能已被删除）。"))
        unit.audit("calendar_day.delete", table="calendar_day", id=row.id, label=str(row)[:200], removed={})
        unit.emit("calendar.changed", change="deleted", day=row.day)
        row.delete_instance()
    ReferenceCache.clear_all()
