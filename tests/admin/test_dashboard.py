"""The dashboard (智能看板): its figures equal counts computed here, one case at a time, from the
cases the test made through the real service; and the page draws them for every staff role."""
from __future__ import annotations

import collections
import datetime as _dt
import re

import pytest

from plugin.applications import service
from plugin.applications.models import FINAL, Application
from plugin.applications.statistics import dashboard_figures
from plugin.calendar import working_days_between
from plugin.credit.models import SEVERE
from plugin.engine.scripting import frozen_clock
from tests.helpers import demo_code, matter_with, sign_in, work_through

ROLES = ["sysadmin", "catalog_admin", "process_designer", "reviewer", "approver", "supervisor"]
UTC = _dt.timezone.utc


def _local_day(moment: _dt.datetime) -> _dt.date:
    return moment.replace(tzinfo=UTC).astimezone().date()


def _backdate(app, days: int) -> None:
    Application.update(submitted_at=app.submitted_at - _dt.timedelta(days=days)).where(
        Application.id == app.id).execute()


@pytest.fixture
def made(seeded):
    """Cases of every kind: instant approvals, a standard approval, a rejection and a return worked
    through by staff (submitted days earlier), open cases, an overdue one and a refused one."""
    apps = [service.apply(matter_with("instant_approval").code, demo_code("red")) for _ in range(2)]
    approved, _ = work_through(service.apply(matter_with("standard_review").code, demo_code("blue")))
    _backdate(approved, 9)
    rejected, _ = work_through(service.apply(matter_with("instant_approval").code, demo_code("blue")),
                               {"决定": "rejected"})
    _backdate(rejected, 3)
    returned, _ = work_through(service.apply(matter_with("standard_review").code, demo_code("orange")),
                               {"受理": "returned"})
    apps += [approved, rejected, returned]
    apps.append(service.apply(matter_with("tolerance", negative=False).code, demo_code("orange")))
    apps.append(service.apply(matter_with("standard_review").code, demo_code("blue")))
    apps.append(service.apply(matter_with("tolerance", negative=True).code, demo_code("black", SEVERE)))
    with frozen_clock(_dt.datetime.now(UTC) - _dt.timedelta(days=40)):
        old = service.apply(matter_with("standard_review").code, demo_code("blue"))
    _backdate(old, 40)
    apps.append(old)
    return [service.get(a.number) for a in apps]


def _today():
    return _dt.datetime.now(UTC).astimezone().date()


def test_the_cases_made_span_every_figure(made):
    statuses = {a.status for a in made}
    assert {"approved", "rejected", "returned", "refused", "in_review"} <= statuses
    assert {a.path for a in made if a.decision == "approved"} == {"instant", "standard"}
    assert any(a.due_date and a.due_date < _today() and a.status == "in_review" for a in made)


def test_dashboard_figures_equal_counts_computed_case_by_case(made):
    today = _today()
    f = dashboard_figures(today)

    assert f["total"] == len(made)
    assert {r["status"]: r["count"] for r in f["by_status"] if r["count"]} == collections.Counter(
        a.status for a in made)
    assert {r["code"]: r["count"] for r in f["by_tier"] if r["count"]} == collections.Counter(
        a.tier_code for a in made)
    assert [r["code"] for r in f["by_tier"]][:4] == ["red", "orange", "blue", "black"]   # best first

    approved = [a for a in made if a.decision == "approved"]
    instant = [a for a in approved if a.path == "instant"]
    assert (f["approved"], f["instant"]) == (len(approved), len(instant)) == (3, 2)
    assert f["instant_rate"] == pytest.approx(2 / 3)

    open_cases = [a for a in made if a.status not in FINAL and a.decided_at is None]
    overdue = {a.number for a in open_cases if a.due_date < today}
    due_soon = {a.number for a in open_cases
                if a.due_date >= today and working_days_between(today, a.due_date) <= 2}
    assert f["overdue_count"] == len(overdue) >= 1
    assert {c["number"] for c in f["overdue"]} == overdue
    assert f["due_soon_count"] == len(due_soon)
    assert {c["number"] for c in f["due_soon"]} == due_soon

    decided = [a for a in made if a.decided_at is not None and a.decision is not None]
    by_path: dict[str, list] = collections.defaultdict(list)
    for a in decided:
        taken = working_days_between(_local_day(a.submitted_at), _local_day(a.decided_at))
        by_path[a.path].append((taken, a.matter.legal_days))
    assert {r["path"]: r["cases"] for r in f["by_path"]} == {p: len(v) for p, v in by_path.items()}
    for row in f["by_path"]:
        rows = by_path[row["path"]]
        assert row["avg_taken"] == pytest.approx(sum(t for t, _l in rows) / len(rows)), row["path"]
        assert row["avg_legal"] == pytest.approx(sum(l for _t, l in rows) / len(rows)), row["path"]
    assert f["decided"] == len(decided) == 5
    assert f["days_saved"] == sum(legal - taken for rows in by_path.values() for taken, legal in rows)
    standard = next(r for r in f["by_path"] if r["path"] == "standard")
    assert standard["avg_taken"] > 0                        # the backdated cases took working days

    days = collections.Counter(_local_day(a.submitted_at) for a in made
                               if today - _dt.timedelta(days=29) <= _local_day(a.submitted_at) <= today)
    assert len(f["daily"]) == 30 and f["daily"][-1]["day"] == today
    assert {d["day"]: d["count"] for d in f["daily"] if d["count"]} == dict(days)
    assert sum(d["count"] for d in f["daily"]) == len(made) - 1   # the 40-day-old case is outside


def test_empty_database_gives_zeros_not_errors(seeded):
    f = dashboard_figures(_today())
    assert f["total"] == 0 and f["instant_rate"] is None and f["days_saved"] == 0
    assert f["by_path"] == [] and f["overdue"] == [] and sum(d["count"] for d in f["daily"]) == 0


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_role_sees_the_dashboard(made, app, role):
    client = app.test_client()
    sign_in(client, f"dash_{role}", role)
    r = client.get("/admin/")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert page.count('role="img"') >= 5                    # status, tier, instant, timing, daily
    assert len(re.findall(r"<title id=\"chart-[a-z]+-t\">", page)) == 5
    assert page.count('<details class="xyp-data">') == 5    # each chart's numbers as a table


def test_dashboard_page_shows_the_figures_and_links_the_cases(made, app):
    client = app.test_client()
    sign_in(client, "dash_reviewer", "reviewer")
    page = client.get("/admin/").get_data(as_text=True)
    f = dashboard_figures(_today())
    overdue = f["overdue"][0]["number"]
    assert f'href="/admin/xinyipi_application/case/{overdue}/"' in page
    assert f'<span class="xyp-kpi-n text-danger">{f["overdue_count"]}</span>' in page
    assert "66.7%" in page                                  # 2 instant of 3 approved
    assert f'累计节约 {f["days_saved"]} 个工作日' in page
    tier_table = page[page.index('id="table-tier"'):]
    tier_table = tier_table[:tier_table.index("</table>")]
    for row in f["by_tier"]:
        assert f'<td>{row["label"]}（{row["code"]}）</td><td>{row["count"]}</td>' in tier_table
    # the daily chart has one column per day, carrying its count
    assert len(re.findall(r'<rect [^>]*data-day="', page)) == 30
    assert f'data-day="{_today().isoformat()}" data-count="{f["daily"][-1]["count"]}"' in page
    # the quick links open the list filtered to those cases
    link = re.search(r'<a class="xyp-kpi" href="([^"]+)" id="kpi-overdue"', page).group(1)
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert set(re.findall(r"/case/(XYP\w+)/", listed)) == {c["number"] for c in f["overdue"]}


def test_anonymous_is_sent_to_sign_in(seeded, app):
    r = app.test_client().get("/admin/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
