"""The business date is Beijing's, not the server's (issue #13 §7): on a UTC server, between 00:00
and 08:00 Beijing time the UTC date is still yesterday. Every date a deadline counts from and every
time a person reads comes from `plugin.clock`."""
from __future__ import annotations

import datetime as _dt
import time

import pytest

from helpers import demo_code, matter_with
from plugin import clock
from plugin.applications import progress, service
from plugin.calendar import add_working_days

# Tuesday 1 December 2026, 01:30 in Beijing = Monday 30 November 2026, 17:30 UTC
BEIJING_EARLY = _dt.datetime(2026, 11, 30, 17, 30, tzinfo=_dt.timezone.utc)


@pytest.fixture
def utc_server(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_business_date_is_beijings_on_a_utc_server(utc_server):
    assert _dt.datetime.now().astimezone().utcoffset() == _dt.timedelta(0)  # the server really is UTC
    with clock.frozen(BEIJING_EARLY):
        assert clock.today() == _dt.date(2026, 12, 1)
        assert progress.business_today() == _dt.date(2026, 12, 1)
        assert progress.local_time(BEIJING_EARLY.replace(tzinfo=None)) == _dt.datetime(2026, 12, 1, 1, 30)
        assert clock.now().utcoffset() == _dt.timedelta(hours=8)


def test_a_case_submitted_at_1_30_beijing_counts_from_beijings_day(seeded, utc_server):
    matter = matter_with("standard_review")
    with clock.frozen(BEIJING_EARLY):
        case = service.apply(matter.code, demo_code("blue"))
    assert case.number.startswith("XYP20261201")
    assert case.due_date == add_working_days(_dt.date(2026, 12, 1), case.promised_days)
    assert clock.local_date(case.submitted_at) == _dt.date(2026, 12, 1)


def test_the_zone_is_configurable(utc_server, monkeypatch):
    monkeypatch.setenv("XINYIPI_TIMEZONE", "Asia/Urumqi")  # UTC+6
    with clock.frozen(BEIJING_EARLY):
        assert clock.today() == _dt.date(2026, 11, 30)
    monkeypatch.setenv("XINYIPI_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="XINYIPI_TIMEZONE"):
        clock.zone()
