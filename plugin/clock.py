"""The business clock: now and today in `XINYIPI_TIMEZONE` (Asia/Shanghai by default), whatever
the server's own zone is.

Servers and CI run in UTC; a Beijing day starts at 16:00 UTC the day before. Every date that a
deadline counts from, every "today" of a draw or a dashboard, and every time a page, PDF or export
shows is taken from here, never from `date.today()` or a bare `astimezone()` (which would use the
server's zone and be wrong for eight hours of every Beijing day).

`frozen(moment)` sets the clock for a block (imports of past cases, tests walking a case across
a holiday); the engine's timers and `working_days(n)` read the same clock.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import functools
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"
_frozen: contextvars.ContextVar[_dt.datetime | None] = contextvars.ContextVar("xinyipi_clock", default=None)


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"XINYIPI_TIMEZONE 不是有效的时区名称：{name!r}（例如 Asia/Shanghai）") from None


def zone() -> ZoneInfo:
    """The business time zone: the app's XINYIPI_TIMEZONE, else the environment's, else Shanghai."""
    # asked a dozen times per case written: outside an app context (CLI, tick, bench, the isolated
    # validator) ask whether there is one rather than raise and catch RuntimeError each time
    name = current_app.config.get("XINYIPI_TIMEZONE") if has_app_context() else None
    return _zone(name or os.environ.get("XINYIPI_TIMEZONE") or DEFAULT_ZONE)


def now() -> _dt.datetime:
    """Now, aware, in the business zone (the frozen moment inside `frozen`)."""
    return (_frozen.get() or _dt.datetime.now(_dt.timezone.utc)).astimezone(zone())


def today() -> _dt.date:
    """The business date: the date deadlines count from and "today" means on every page."""
    return now().date()


def utc_naive() -> _dt.datetime:
    """Now as naive UTC, the form timestamps are stored in (the same instant as `now()`; no zone
    needed to get there)."""
    return (_frozen.get() or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc).replace(tzinfo=None)


def local(stored: _dt.datetime | None) -> _dt.datetime | None:
    """A stored naive-UTC timestamp as an aware time in the business zone."""
    if stored is None:
        return None
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=_dt.timezone.utc)
    return stored.astimezone(zone())


def local_date(stored: _dt.datetime) -> _dt.date:
    """The business date of a stored naive-UTC timestamp."""
    return local(stored).date()


@contextlib.contextmanager
def frozen(moment: _dt.datetime):
    """Business time stands at `moment` (naive means UTC) inside the block."""
    token = _frozen.set(moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc))
    try:
        yield
    finally:
        _frozen.reset(token)


def is_frozen() -> bool:
    return _frozen.get() is not None
