"""Row ids in URLs: what a database can hold, or 404.

Every table's id is a 32-bit integer on PostgreSQL (``serial``), and SQLite binds at most 64 bits: a
larger number in a URL (``/admin/…/99999999999999999999``) would reach the database and fail there
(integer out of range, or a Python OverflowError), a 500. Routes of ours take row ids with the
``rowid`` converter (``/drafts/<rowid:draft_id>``), which matches 0 … `MAX_ROW_ID` only, so
anything else is a 404 before a view runs; ids read from the query string or a form go through
`row_id()`. Whatever number still reaches the database out of range (a page number, a filter
value) is recognised by `is_out_of_range()` and answered with a 404 by the views.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter

MAX_ROW_ID = 2 ** 31 - 1
MAX_DIGITS = len(str(MAX_ROW_ID))


class RowIdConverter(IntegerConverter):
    """``<rowid:name>``: a non-negative integer of at most `MAX_ROW_ID` (else the route does not match)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def row_id(value) -> int | None:
    """`value` (a str from a URL, form or JSON, or an int) as a row id, or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ROW_ID else None
    text = str(value if value is not None else "")
    if not text.isascii() or not text.isdigit() or len(text) > MAX_DIGITS:
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


#: SQLSTATEs of a number the database cannot take: numeric_value_out_of_range, invalid_text_representation
#: (``id = 'abc'``), invalid_row_count_in_limit_clause, invalid_row_count_in_result_offset_clause.
OUT_OF_RANGE_STATES = frozenset({"22003", "22P02", "2201W", "2201X"})


def is_out_of_range(exc: BaseException) -> bool:
    """Whether `exc` is a database refusing a number from a request (too large, negative offset,
    not a number): SQLite's binding raises OverflowError, PostgreSQL a DataError with one of
    `OUT_OF_RANGE_STATES`. Views turn these into a 404 rather than a 500."""
    if isinstance(exc, OverflowError):
        return True
    import peewee
    if isinstance(exc, peewee.DataError):
        original = exc.args[0] if exc.args else None
        state = getattr(original, "sqlstate", None) or getattr(exc.__cause__ or exc.__context__, "sqlstate", None)
        return state in OUT_OF_RANGE_STATES
    return False


def safe_next(target: str | None, under: str = "/") -> str | None:
    """`target` when it is a path of this site starting with `under`, else None: where a page may send
    the browser after sign-in (or a claim), from a ``next`` the request carries. Never another site:
    no scheme, no host, no ``//``, no backslash (browsers read ``/\\`` as ``//``, "another host"), no
    control characters (browsers drop a tab or newline: ``/<TAB>/host`` is ``//host``)."""
    if not target or not isinstance(target, str) or not target.startswith(under):
        return None
    if target.startswith("//") or "\\" in target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def init_app(app) -> None:
    """Register the converter under its own name: a host's ``int`` routes are left alone."""
    app.url_map.converters.setdefault("rowid", RowIdConverter)
