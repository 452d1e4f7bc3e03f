"""Roles and lanes are named once (`plugin.roles`), and where a page may send the browser after
sign-in is decided once (`plugin.urls.safe_next`)."""
from __future__ import annotations

import pytest

from plugin import roles
from plugin.urls import safe_next


def test_every_reader_sees_the_same_roles_and_lanes():
    import admin.auth
    import plugin.accounts
    import plugin.engine.validate

    assert plugin.accounts.ROLES is roles.ROLES
    assert plugin.engine.validate.LANES is roles.LANES           # re-exported for older imports
    assert admin.auth.ALL_STAFF == frozenset(roles.ROLES)
    for name in ("SYSADMIN", "CATALOG_ADMIN", "PROCESS_DESIGNER", "REVIEWER", "APPROVER", "SUPERVISOR"):
        assert getattr(admin.auth, name) == getattr(roles, name)
    # lanes name roles: every staff lane is a role of the same name and label
    assert set(roles.LANES) == {roles.APPLICANT, *roles.STAFF_LANES}
    assert all(roles.LANES[lane] == roles.ROLES[lane] for lane in roles.STAFF_LANES)
    assert plugin.accounts.StaffUser.role.choices == list(roles.ROLES.items())


@pytest.mark.parametrize("target", ["/admin/", "/admin/xinyipi_subject/?search=海口 公司", "/portal/cases"])
def test_a_path_of_this_site_is_followed(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "admin/", "https://evil.example/", "//evil.example/", "/\\evil.example/", "/\\/evil.example",
    "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "http:/evil.example",
])
def test_another_site_is_never_followed(target):
    assert safe_next(target) is None


def test_a_prefix_keeps_the_browser_inside_its_part():
    assert safe_next("/portal/cases", under="/portal") == "/portal/cases"
    assert safe_next("/admin/", under="/portal") is None
