"""Numbers no database holds (issue #12): every route of ours with an integer in its path, and every
model view's ``?id=``, answers a huge, negative or malformed id with a 404 — for every role, on
SQLite (which raises OverflowError binding a number over 64 bits) and PostgreSQL (which refuses a
number over its column's range) — never a 500. The routes are found by crawling the URL map, so a
new route is attacked without anyone adding it here."""
from __future__ import annotations

import re

import pytest
from flask_admin.contrib.peewee import ModelView
from werkzeug.routing.converters import NumberConverter

from plugin.accounts import ROLES
from plugin.applications import service
from plugin.urls import MAX_ROW_ID, row_id
from tests.helpers import demo_code, matter_with, sign_in
from tests.portal.conftest import make_app, sign_in_applicant

HUGE = [str(MAX_ROW_ID + 1), str(2 ** 63), str(2 ** 64 + 1), "9" * 20, "9" * 40]
NOT_IDS = HUGE + ["-1", "-99999999999999999999", "abc", "1e3", "0x10", " 1", "１２"]


@pytest.fixture
def site(seeded, database_url, tmp_path):
    """The standalone app with a real case, and a client per role (anonymous, applicant, each staff role)."""
    app = make_app(database_url, tmp_path)
    case = service.apply(matter_with("standard_review").code, demo_code("blue"))
    clients = {"anonymous": app.test_client(), "applicant": app.test_client()}
    sign_in_applicant(clients["applicant"], demo_code("blue"))
    for role in ROLES:
        clients[role] = app.test_client()
        sign_in(clients[role], f"ids_{role}", role)
    task = service.ready_tasks(case)[0]["id"]
    values = {"number": case.number, "task_id": task, "key": "standard_review", "code": demo_code("blue"),
              "material_code": "M001", "filename": "x"}
    return app, clients, values


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        numbers = [name for name, conv in rule._converters.items() if isinstance(conv, NumberConverter)]
        if numbers:
            yield rule, numbers


def _build(rule, numbers, value: str, values: dict) -> str:
    """The rule's path with `value` for its numbers and a real value for its other arguments."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: value if m.group(1) in numbers else values[m.group(1)],
                  rule.rule)


def test_row_id_parsing():
    assert row_id("0") == 0 and row_id(str(MAX_ROW_ID)) == MAX_ROW_ID and row_id(7) == 7
    for bad in NOT_IDS + [None, "", True, -1, 2 ** 40]:
        assert row_id(bad) is None, bad


def test_the_databases_refusal_of_a_number_is_recognised(db, backend):
    """What the views' safety net turns into a 404: SQLite's OverflowError, PostgreSQL's out-of-range
    and not-a-number errors; other database errors are not mistaken for it."""
    import peewee
    from plugin.urls import is_out_of_range
    attempts = ([("SELECT ?", (10 ** 20,))] if backend == "sqlite" else
                [("SELECT CAST(%s AS integer)", ("99999999999",)), ("SELECT CAST(%s AS integer)", ("abc",)),
                 ("SELECT 1 OFFSET %s", (-5,))])
    for sql, params in attempts:
        with pytest.raises(Exception) as refused:
            db.execute_sql(sql, params)
        assert is_out_of_range(refused.value), (sql, refused.value)
    with pytest.raises(peewee.DatabaseError) as other:
        db.execute_sql("SELECT * FROM no_such_table")
    assert not is_out_of_range(other.value)


def test_every_int_route_is_404_for_huge_and_negative_ids_for_every_role(site):
    app, clients, values = site
    rules = list(_int_rules(app))
    assert len(rules) >= 10, [r.rule for r, _n in rules]      # drafts, versions, items, draws, commitments …
    for rule, numbers in rules:
        # our routes take row ids through the bounded converter, never a bare <int:…>
        assert all(rule._converters[n].max == MAX_ROW_ID for n in numbers), rule.rule
        method = "GET" if "GET" in rule.methods else "POST"
        for value in HUGE + ["-1"]:
            url = _build(rule, numbers, value, values)
            for role, client in clients.items():
                r = client.open(url, method=method)
                assert r.status_code == 404, (role, method, url, r.status_code)


def _model_views(app):
    admin = app.extensions["xinyipi"].admin
    return [v for v in admin._views if isinstance(v, ModelView)]


def test_every_model_views_id_is_404_when_no_row_can_have_it(site):
    app, clients, _values = site
    views = _model_views(app)
    assert len(views) >= 9
    for view in views:
        base = f"{view.url}/"
        for role, client in clients.items():
            staff = role in ROLES
            may_read = staff and (role == "sysadmin" or role in view.roles)
            may_write = staff and (role == "sysadmin" or role in view.write_roles)
            expected = {
                # no role or not this view's: sign-in page or 403; a page the view does not have: Flask-Admin
                # sends back to the list; otherwise the id is looked at, and no row can have it
                "details": 404 if may_read and view.can_view_details else (302 if may_read else (302, 403)),
                "edit": (404 if may_write and view.allow_edit else (302 if may_write else 403)) if may_read
                else (302, 403),
            }
            for endpoint, want in expected.items():
                for value in NOT_IDS:
                    r = client.get(f"{base}{endpoint}/", query_string={"id": value})
                    assert r.status_code in (want if isinstance(want, tuple) else (want,)), \
                        (role, base, endpoint, value, r.status_code)
                    if r.status_code == 404:
                        assert "不存在" in r.get_data(as_text=True)
            r = client.post(f"{base}delete/", data={"id": HUGE[-1], "url": base})
            assert r.status_code in (302, 403, 404), (role, base, r.status_code)


def test_list_pages_with_absurd_page_numbers_and_filters_are_not_errors(site):
    app, clients, _values = site
    staff = clients["sysadmin"]
    for view in _model_views(app):
        base = f"{view.url}/"
        for query in ({"page": HUGE[-1]}, {"page": "-5"}, {"page_size": HUGE[-1]}, {"sort": HUGE[-1]},
                      {"flt0_0": HUGE[-1]}, {"flt1_0": "-" + HUGE[-1]}):
            r = staff.get(base, query_string=query)
            assert r.status_code in (200, 404), (base, query, r.status_code)
