"""CSV that spreadsheet programs open without running anything (CSV/formula injection).

Excel, WPS and LibreOffice treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``), and a leading TAB or CR can hide such a start. Every
CSV xinyipi writes — the credit archive (admin, API, CLI), the admin's exports (Flask-Admin's
export when a view enables it), the import reports — passes each cell through `cell()`, which
prefixes such a value with an apostrophe: the spreadsheet shows the text, the apostrophe tells the
reader it was escaped, and nothing runs.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"   # so that spreadsheet programs read the Chinese as UTF-8


def cell(value) -> str:
    """`value` as the text of one CSV cell that no spreadsheet program takes for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row(values: Iterable) -> list[str]:
    return [cell(v) for v in values]


def to_csv(header: Iterable, rows: Iterable[Iterable], bom: bool = True) -> str:
    """A whole CSV document (CRLF line ends, UTF-8 BOM unless `bom` is False), every cell escaped."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(row(header))
    for values in rows:
        writer.writerow(row(values))
    return buffer.getvalue()
