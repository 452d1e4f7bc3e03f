"""`xinyipi init` (idempotent; the first system administrator with a password shown once), `xinyipi
seed` (idempotent, what it loads; demo staff only when asked for demo data) and `xinyipi workdays`."""
from __future__ import annotations

import datetime as dt

import pytest

from plugin.accounts import ROLES, StaffUser
from plugin.catalog.models import (PUBLISHED, Material, MaterialRequirement, Matter, MatterTierLimit,
                                   NegativeListEntry)
from plugin.credit.codes import validate_subject_code
from plugin.credit.models import GENERAL, SEVERE, DishonestyRecord, Subject, Tier, TierScheme
from plugin.credit.tiers import active_scheme
from plugin.engine.models import ProcessDefinition
from plugin.migrations import SchemaMigration, available
from seeds.loader import DEMO_PASSWORD, DEMO_STAFF, demo_subjects, load_json

COUNTED = [Matter, Material, MaterialRequirement, MatterTierLimit, NegativeListEntry, TierScheme, Tier,
           Subject, DishonestyRecord, StaffUser, ProcessDefinition]


def counts() -> dict[str, int]:
    return {model.__name__: model.select().count() for model in COUNTED}


# ---------------------------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------------------------
def test_init_is_idempotent(cli_runner):
    migrations = available()
    assert migrations

    first = cli_runner("init")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("applied: ")
    for number, name, _module in migrations:
        assert f"{number:04d}_{name}" in first.stdout

    second = cli_runner("init")
    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == "schema is up to date"

    rows = list(SchemaMigration.select().order_by(SchemaMigration.number))
    assert [(r.number, r.name) for r in rows] == [(n, name) for n, name, _ in migrations]
    assert Matter.select().count() == 0          # init creates the schema, it does not seed


def _printed_password(output: str) -> str:
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if "account 'sysadmin'" in line)
    return lines[at + 1].strip()


def test_init_on_an_empty_database_creates_one_sysadmin_with_a_password_shown_once(cli_runner, database_url):
    first = cli_runner("init")
    assert first.exit_code == 0, first.output
    password = _printed_password(first.stdout)
    assert len(password) >= 16 and "此密码仅显示这一次" in first.stdout
    (user,) = StaffUser.select()
    assert (user.username, user.role, user.active) == ("sysadmin", "sysadmin", True)
    assert user.check_password(password) and not user.check_password("xinyipi-demo")
    # stored only as a hash: the password is in no column of any staff row
    assert password not in user.password_hash
    for row in StaffUser.select().dicts():
        assert not any(password in str(value) for value in row.values())
    # shown once: a second init (or a third) neither prints it nor makes another account
    for _ in range(2):
        again = cli_runner("init")
        assert again.exit_code == 0 and password not in again.output and "sysadmin" not in again.output
    assert StaffUser.select().count() == 1 and StaffUser.get().password_hash == user.password_hash
    # and the generated password signs in
    from plugin import create_app
    from tests.helpers import sign_in
    client = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test"}).test_client()
    sign_in(client, "sysadmin", "sysadmin", password=password)
    assert client.get("/admin/xinyipi_staff_user/").status_code == 200


def test_init_creates_no_account_where_staff_exist(db, cli_runner):
    user = StaffUser(username="root", name="已有管理员", role="sysadmin", department="")
    user.set_password("an-existing-password")
    user.save()
    result = cli_runner("init")
    assert result.exit_code == 0 and "sysadmin" not in result.output
    assert [u.username for u in StaffUser.select()] == ["root"]


def test_two_generated_passwords_differ(db):
    from plugin.accounts import create_first_sysadmin
    first = create_first_sysadmin()
    assert first and create_first_sysadmin() is None
    StaffUser.delete().execute()
    second = create_first_sysadmin()
    assert second and second != first


# ---------------------------------------------------------------------------------------------
# seed
# ---------------------------------------------------------------------------------------------
def test_seed_twice_changes_nothing(db, cli_runner):
    first = cli_runner("seed")
    assert first.exit_code == 0, first.output
    after_first = counts()
    assert after_first["StaffUser"] == 0 and DEMO_PASSWORD not in first.output   # no demo logins unasked
    catalog = load_json("catalog.json")
    assert after_first["Matter"] == len(catalog["matters"])
    assert after_first["Material"] == len(catalog["materials"])
    assert after_first["NegativeListEntry"] == len(catalog["negative_list"])
    assert after_first["Subject"] == len(demo_subjects())
    assert f"matters: {len(catalog['matters'])}" in first.stdout

    second = cli_runner("seed")
    assert second.exit_code == 0, second.output
    assert counts() == after_first
    assert SchemaMigration.select().count() == len(available())


@pytest.mark.parametrize("flags", [["--demo-staff"], ["--demo-cases"]])
def test_demo_staff_only_when_asked_for_demo_data(db, cli_runner, flags):
    result = cli_runner("seed", *flags)
    assert result.exit_code == 0, result.output
    assert f"password {DEMO_PASSWORD}" in result.stdout
    assert {u.username for u in StaffUser.select()} >= {"admin", "reviewer", "approver", "supervisor"}
    assert StaffUser.get(StaffUser.username == "reviewer").check_password(DEMO_PASSWORD)
    again = cli_runner("seed", *flags)
    assert again.exit_code == 0 and StaffUser.select().count() == len(DEMO_STAFF)


def test_seeded_catalog(seeded):
    matters = list(Matter.select())
    assert len(matters) >= 30
    assert len({m.department for m in matters}) >= 8
    catalog = {m["code"]: m for m in load_json("catalog.json")["matters"]}
    for matter in matters:
        assert matter.status == PUBLISHED, matter.code
        assert matter.process_id is not None, matter.code
        definition = ProcessDefinition.get_by_id(matter.process_id)
        assert definition.key == catalog[matter.code]["process"]
        assert matter.requirements.count() == len(catalog[matter.code]["requirements"])
    # every published version records a path for every tier of the scheme it was published under
    for definition in ProcessDefinition.select():
        scheme = TierScheme.get(TierScheme.code == definition.scheme_code)
        assert set(definition.tier_paths) == {t.code for t in scheme.tiers}


def test_seeded_subjects_and_records(seeded):
    subjects = list(Subject.select())
    assert {s.code for s in subjects} == {d[0] for d in demo_subjects()}
    for s in subjects:
        assert validate_subject_code(s.code) == (s.code, s.kind)
    kinds = {s.kind for s in subjects}
    assert kinds == {"organisation", "person"}

    haikou = TierScheme.get(TierScheme.code == "haikou")
    in_haikou = {s.tier.code for s in subjects if s.tier is not None and s.tier.scheme_id == haikou.id}
    assert in_haikou == {t.code for t in haikou.tiers}

    today = dt.date.today()
    active = list(DishonestyRecord.select().where(DishonestyRecord.active_clause(today)))
    assert any(r.severity == SEVERE for r in active)
    assert any(r.severity == GENERAL for r in active)
    assert {r.severity for r in DishonestyRecord.select()} == {SEVERE, GENERAL}


def test_seeded_staff_and_scheme(seeded):
    for role in ROLES:
        user = StaffUser.select().where(StaffUser.role == role).order_by(StaffUser.id).first()
        assert user is not None, f"no staff user for role {role}"
        assert user.active
        assert user.check_password(DEMO_PASSWORD)          # (password hashing is slow: one check a role)
    assert not user.check_password(DEMO_PASSWORD + "x")
    assert {u.role for u in StaffUser.select()} <= set(ROLES)

    assert active_scheme().code == "haikou"
    assert TierScheme.select().where(TierScheme.active == True).count() == 1  # noqa: E712
    assert {s.code for s in TierScheme.select()} == {"haikou", "hangzhou", "jiangdu"}


# ---------------------------------------------------------------------------------------------
# workdays
# ---------------------------------------------------------------------------------------------
def test_workdays_over_spring_festival_2026(db, cli_runner):
    # State Council schedule for the 2026 Spring Festival: 15–23 February off (Sunday to Monday,
    # nine days), Saturday 14 February and Saturday 28 February are working days (调休).
    # Counting 5 working days from Friday 13 February, the start day not counted:
    #   1 = Sat 14 Feb (adjusted working day), Sun 15 – Mon 23 Feb off,
    #   2 = Tue 24, 3 = Wed 25, 4 = Thu 26, 5 = Fri 27 February.
    result = cli_runner("workdays", "2026-02-13", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2026-02-27"
    assert "warning" not in result.stderr

    # one more working day is the adjusted working Saturday 28 February, not Monday 2 March
    result = cli_runner("workdays", "2026-02-13", "6")
    assert result.stdout.strip() == "2026-02-28"


def test_workdays_in_an_unknown_year_falls_back_and_says_so(db, cli_runner):
    # 2027 is not in the installed calendar data and the calendar_day table is empty:
    # Monday 4 January 2027 + 3 working days, Monday–Friday = Thursday 7 January.
    # Every run says so, not only the first one in a process.
    for _ in range(2):
        result = cli_runner("workdays", "2027-01-04", "3")
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "2027-01-07"
        assert "2027" in result.stderr and "warning" in result.stderr


def test_workdays_bad_input(db, cli_runner):
    for bad in ("2026-02-30", "13/02/2026", "tomorrow"):
        result = cli_runner("workdays", bad, "5")
        assert result.exit_code != 0
        assert bad in result.stderr and "YYYY-MM-DD" in result.stderr
        assert result.stdout == ""
    result = cli_runner("workdays", "2026-02-13", "five")
    assert result.exit_code != 0
