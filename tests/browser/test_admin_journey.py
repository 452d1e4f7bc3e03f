"""The staff's main journeys through the admin, in a real Chromium: signing in and out (and what a role
may not see), editing a matter's material requirements inline on its page, and the sign-in page on a
phone. Every change is checked in the database the live server writes to (the same SQLite file: the
app's ``create_app`` binds the shared peewee proxy to it, so the models read it here after each request)."""
from __future__ import annotations

import re

import peewee as pw
from playwright.sync_api import expect

from plugin.accounts import ROLES, StaffUser
from plugin.applications.models import AuditEntry
from plugin.catalog.models import DEFERRABLE, OPTIONAL, Material, MaterialRequirement, Matter

MATTERS = "/admin/xinyipi_matter/"
STAFF_USERS = "/admin/xinyipi_staff_user/"
LOGIN = re.compile(r"/admin/login(\?.*)?$")
MATTER_LIST = re.compile(r"/admin/xinyipi_matter/(\?.*)?$")
REQUIREMENT_FIELDS = ("id", "material_id", "necessity", "waived_tiers", "commitment_replaces", "copies",
                      "supplement_days", "notes", "position")


def _requirements(matter_id: int) -> dict[int, dict]:
    """The matter's requirements as stored now, by id."""
    return {r.id: {f: getattr(r, f) for f in REQUIREMENT_FIELDS}
            for r in MaterialRequirement.select().where(MaterialRequirement.matter == matter_id)}


def _matter_state(matter_id: int) -> tuple:
    m = Matter.get_by_id(matter_id)
    return (m.code, m.name, m.department, m.kind, m.legal_days, m.promised_days, m.status, m.fee,
            _requirements(matter_id))


def _matter_with_requirements(at_least: int) -> Matter:
    return (Matter.select().join(MaterialRequirement).group_by(Matter.id)
            .having(pw.fn.COUNT(MaterialRequirement.id) >= at_least).order_by(Matter.id).first())


def _save(page):
    page.get_by_role("button", name="保存", exact=True).click()


# --------------------------------------------------------------------------- 1. signing in and out

def _failed_logins(user) -> int:
    """Wrong passwords in a row from this browser's address (the sign-in guard of the account)."""
    from plugin.identity.models import SignInGuard
    return sum(g.failed_logins for g in SignInGuard.select().where((SignInGuard.kind == "staff")
                                                                     & (SignInGuard.account_id == user.id)))


def test_sign_in_wrong_password_then_right_then_sign_out(live_server, page, shot):
    admin = StaffUser.get(StaffUser.username == "admin")
    first_matter = Matter.select().order_by(Matter.code).first()

    # anonymous: the matters list sends to the sign-in page, remembering where to go back
    page.goto(live_server.url + MATTERS)
    expect(page).to_have_url(LOGIN)
    assert "next=" in page.url and "xinyipi_matter" in page.url
    expect(page).to_have_title(re.compile("工作人员登录"))
    expect(page.locator(".xyp-sub")).to_contain_text("工作人员登录")
    expect(page.locator("#username")).to_be_visible()
    expect(page.locator("#xyp-user")).to_have_count(0)
    shot(page, "1-sign-in-page")

    # a wrong password: refused with an alert, still on the sign-in page, the name kept
    page.fill("#username", "admin")
    page.fill("#password", "not-the-password")
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="登录").click()
    assert refused.value.status == 401
    expect(page).to_have_url(LOGIN)
    expect(page.get_by_role("alert")).to_have_text(re.compile("用户名或密码不正确"))
    expect(page.locator("#username")).to_have_value("admin")
    expect(page.locator("#username")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#xyp-user")).to_have_count(0)
    assert _failed_logins(admin) == 1
    shot(page, "2-wrong-password")

    # the right password: back on the matters list, the navbar names the user and the role
    page.fill("#password", "xinyipi-demo")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(MATTER_LIST)
    expect(page.locator("#login-error")).to_have_count(0)
    expect(page.get_by_role("cell", name=first_matter.code, exact=True)).to_be_visible()
    user_menu = page.locator("#xyp-user")
    expect(user_menu).to_have_text(f"{admin.name}（{ROLES['sysadmin']}）")
    expect(user_menu).to_have_attribute("data-role", "sysadmin")
    assert _failed_logins(admin) == 0
    # a sysadmin has the staff accounts in the 系统 menu (what the reviewer below must not have)
    page.wait_for_load_state("load")  # Bootstrap's dropdown handler is bound once its script has run
    page.get_by_role("link", name="系统", exact=True).click()
    expect(page.get_by_role("link", name="工作人员", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="工作人员", exact=True)).to_have_attribute("href", STAFF_USERS)
    shot(page, "3-signed-in-matters")
    page.keyboard.press("Escape")

    # sign out from the user's dropdown
    user_menu.click()
    sign_out = page.get_by_role("button", name="退出登录")
    expect(sign_out).to_be_visible()
    shot(page, "4-user-menu")
    sign_out.click()
    expect(page).to_have_url(LOGIN)
    expect(page.get_by_role("status")).to_have_text(re.compile("已退出登录"))
    expect(page.locator("#username")).to_be_visible()
    shot(page, "5-signed-out")

    # the list is no longer reachable
    response = page.goto(live_server.url + MATTERS)
    expect(page).to_have_url(LOGIN)
    assert response.status == 200 and "/admin/login" in response.url
    expect(page.locator("#xyp-user")).to_have_count(0)
    expect(page.get_by_role("cell", name=first_matter.code, exact=True)).to_have_count(0)
    actions = [a for (a,) in AuditEntry.select(AuditEntry.action).where(AuditEntry.actor == "admin")
               .order_by(AuditEntry.id).tuples()]
    assert actions == ["staff.login_failed", "staff.login", "staff.logout"]


def test_reviewer_has_no_staff_menu_and_gets_403_on_staff_accounts(live_server, page, shot, staff_login):
    reviewer = StaffUser.get(StaffUser.username == "reviewer")
    staff_login(page, live_server, "reviewer")
    expect(page.locator("#xyp-user")).to_have_text(f"{reviewer.name}（{ROLES['reviewer']}）")
    nav = page.locator("#admin-navbar-collapse")
    expect(nav.locator("a.dropdown-item").first).to_be_attached()          # the menu is there …
    expect(nav.locator(f"a[href*='{STAFF_USERS}']")).to_have_count(0)       # … without the staff accounts
    assert "工作人员" not in [t.strip() for t in nav.locator("a").all_text_contents()]
    shot(page, "1-reviewer-home")

    response = page.goto(live_server.url + STAFF_USERS)
    assert response.status == 403
    expect(page).to_have_url(re.compile(re.escape(STAFF_USERS) + "$"))
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("无权访问此页面")
    expect(page.locator("table")).to_have_count(0)
    for user in StaffUser.select():
        expect(page.get_by_text(user.username, exact=True)).to_have_count(0)
    shot(page, "2-forbidden")


# --------------------------------------------------------------------------- 2. inline materials

def test_edit_matter_requirements_inline(live_server, page, shot, staff_login):
    matter = _matter_with_requirements(3)
    assert matter is not None, "the seed has no matter with three requirements"
    before = _requirements(matter.id)
    matter_before = _matter_state(matter.id)[:-1]
    used = {r["material_id"] for r in before.values()}
    extra = Material.select().where(Material.id.not_in(used)).order_by(Material.id).first()
    updates_before = AuditEntry.select().where(AuditEntry.action == "matter.update").count()

    staff_login(page, live_server, "catalog")
    page.goto(f"{live_server.url}{MATTERS}edit/?id={matter.id}")
    rows = page.locator("#requirements > .inline-field-list > .inline-field")
    expect(rows).to_have_count(len(before))
    shown_ids = [int(rows.nth(i).locator("input[type=hidden][name$='-id']").input_value())
                 for i in range(len(before))]
    assert sorted(shown_ids) == sorted(before)
    first_id, deleted_id = shown_ids[0], shown_ids[1]
    shot(page, "1-edit-page")

    # the first requirement becomes deferrable (容缺后补), to be supplied within 7 working days
    first = rows.nth(0)
    first.locator("select[name$='-necessity']").select_option(label="容缺后补")
    first.locator("input[name$='-supplement_days']").fill("7")

    # a new row through Flask-Admin's inline "add" button, for a material not yet required
    page.get_by_role("button", name="添加 材料要求").click()
    fresh = page.locator("#requirements > .inline-field-list > .inline-field.fresh")
    expect(fresh).to_have_count(1)
    material = fresh.locator("[name$='-material']")
    # the material field is a plain <select> of the catalog (no select2/ajax widget on this page)
    assert material.evaluate("el => el.tagName") == "SELECT"
    expect(fresh.locator(".select2-container")).to_have_count(0)
    material.select_option(value=str(extra.id))
    assert material.evaluate("el => el.selectedOptions[0].textContent.trim()") == extra.name
    fresh.locator("select[name$='-necessity']").select_option(label="非必要")
    fresh.locator("input[name$='-copies']").fill("2")
    fresh.locator("textarea[name$='-notes']").fill("浏览器测试新增")
    fresh.locator("input[name$='-position']").fill("99")

    # another row is ticked for deletion
    rows.nth(1).get_by_label("删除？").check()
    shot(page, "2-edited-before-save")

    _save(page)
    expect(page).to_have_url(MATTER_LIST)
    expect(page.locator(".alert-success")).to_contain_text("保存记录成功")
    expect(page.locator(".alert-danger")).to_have_count(0)
    shot(page, "3-saved")

    # exactly those changes, nothing else
    after = _requirements(matter.id)
    assert deleted_id not in after
    added = [r for rid, r in after.items() if rid not in before]
    assert len(added) == 1 and len(after) == len(before)
    new = added[0]
    assert (new["material_id"], new["necessity"], new["copies"], new["notes"], new["position"],
            new["supplement_days"], new["waived_tiers"], new["commitment_replaces"]) == (
        extra.id, OPTIONAL, 2, "浏览器测试新增", 99, None, "", False)
    expected_first = {**before[first_id], "necessity": DEFERRABLE, "supplement_days": 7}
    assert after[first_id] == expected_first
    for rid, row in before.items():
        if rid not in (first_id, deleted_id):
            assert after[rid] == row, f"requirement {rid} changed"
    assert _matter_state(matter.id)[:-1] == matter_before
    assert AuditEntry.select().where(AuditEntry.action == "matter.update").count() == updates_before + 1

    # the matter's details page lists the new material (and no longer the deleted one)
    page.goto(f"{live_server.url}{MATTERS}details/?id={matter.id}")
    table = page.locator("#matter-requirements")
    expect(table.locator("tbody tr")).to_have_count(len(after))
    new_row = table.locator("tbody tr", has=page.get_by_role("cell", name=extra.name))
    expect(new_row).to_have_count(1)
    expect(new_row.locator("td").nth(1)).to_have_text("非必要")
    expect(new_row.locator("td").nth(4)).to_have_text("2")
    first_name = Material.get_by_id(before[first_id]["material_id"]).name
    first_row = table.locator("tbody tr", has=page.get_by_role("cell", name=first_name))
    expect(first_row.locator("td").nth(1)).to_have_text("容缺后补")
    expect(first_row.locator("td").nth(5)).to_have_text("7")
    deleted_name = Material.get_by_id(before[deleted_id]["material_id"]).name
    if deleted_name not in {Material.get_by_id(r["material_id"]).name for r in after.values()}:
        expect(table.get_by_text(deleted_name, exact=True)).to_have_count(0)
    shot(page, "4-details")


def test_non_number_copies_is_refused_and_saves_nothing(live_server, page, shot, staff_login):
    matter = _matter_with_requirements(1)
    before = _matter_state(matter.id)
    edit_url = f"{live_server.url}{MATTERS}edit/?id={matter.id}"
    copies = page.locator("#requirements-0-copies")
    staff_login(page, live_server, "catalog")

    # in Chromium the field is a number input: "1e" is not a number, the browser refuses to submit
    page.goto(edit_url)
    page.fill("#name", "不应保存的名称")
    copies.fill("")
    copies.press_sequentially("1e")
    assert copies.evaluate("el => el.validity.badInput")
    copies.evaluate("el => el.addEventListener('invalid', () => { window.xypInvalid = el.validationMessage; })")
    _save(page)
    message = page.wait_for_function("() => window.xypInvalid !== undefined").json_value()
    assert message, "the browser gave no validation message"
    expect(page).to_have_url(re.compile(r"/edit/\?id=%d$" % matter.id))
    assert _matter_state(matter.id) == before
    shot(page, "1-browser-refuses")

    # a non-number that reaches the server (a browser without number inputs): the form comes back
    # with the field's error, and neither the row nor the matter's other changes are saved
    page.goto(edit_url)
    page.fill("#name", "不应保存的名称")
    copies.evaluate("el => { el.type = 'text'; }")
    copies.fill("两份")
    _save(page)
    expect(page.locator(".alert-danger").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/edit/\?id=%d$" % matter.id))
    expect(copies).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#requirements-0 .invalid-feedback")).to_contain_text("不是有效的整数")
    assert _matter_state(matter.id) == before
    shot(page, "2-server-refuses")

    # typed from the keyboard, Chromium drops the letters and the copies field stays empty: it is a
    # required field, so the browser itself refuses to send the form
    page.goto(edit_url)
    page.fill("#name", "不应保存的名称")
    copies.fill("")
    copies.press_sequentially("两份")
    expect(copies).to_have_value("")
    _save(page)
    assert copies.evaluate("el => el.validity.valueMissing") is True
    expect(page).to_have_url(re.compile(r"/edit/\?id=%d$" % matter.id))
    expect(page.locator(".alert-success")).to_have_count(0)
    assert _matter_state(matter.id) == before
    shot(page, "3-empty-refused")


# --------------------------------------------------------------------------- 3. on a phone

def test_sign_in_page_usable_on_a_phone(live_server, phone_page, shot):
    page = phone_page
    page.goto(f"{live_server.url}/admin/login")
    width = page.viewport_size["width"]
    assert width == 375
    fields = [page.locator("#username"), page.locator("#password")]
    button = page.get_by_role("button", name="登录")
    for element in fields + [button]:
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (element, box)
        assert box["width"] >= 200, (element, box)     # wide enough to tap and read
    assert page.evaluate("document.documentElement.scrollWidth") <= width   # no sideways scrolling
    shot(page, "1-sign-in")

    fields[0].tap()
    fields[0].fill("catalog")
    fields[1].tap()
    fields[1].fill("xinyipi-demo")
    expect(fields[0]).to_have_value("catalog")
    expect(fields[1]).to_have_value("xinyipi-demo")
    shot(page, "2-filled")
    button.tap()
    expect(page).to_have_url(re.compile(r"/admin/?$"))
    expect(page.locator("#xyp-user")).to_have_attribute("data-role", "catalog_admin")
    shot(page, "3-signed-in")
