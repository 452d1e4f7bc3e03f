"""The catalog, credit and staff views: who may see and change what, inline requirements, the
negative list with its audit, deletion refused while in use, subject search and effective tier."""
from __future__ import annotations

import datetime as _dt
import re

import pytest

from plugin.accounts import StaffUser
from plugin.applications import service
from plugin.applications.models import AuditEntry
from plugin.catalog.models import Material, MaterialRequirement, Matter, MatterTierLimit, NegativeListEntry
from plugin.catalog.negative_list import is_on_negative_list
from plugin.credit.models import DishonestyRecord, Subject, Tier, TierScheme
from tests.helpers import add_record, demo_code, matter_with, new_subject, sign_in

ROLES = ["sysadmin", "catalog_admin", "process_designer", "reviewer", "approver", "supervisor"]
# view endpoint → (roles that may open it, roles that may change it); sysadmin may do everything
MATRIX = {
    "xinyipi_matter": (set(ROLES), {"sysadmin", "catalog_admin"}),
    "xinyipi_material": (set(ROLES), {"sysadmin", "catalog_admin"}),
    "xinyipi_negative_list_entry": (set(ROLES), {"sysadmin", "catalog_admin"}),
    "xinyipi_calendar_day": (set(ROLES), {"sysadmin", "catalog_admin"}),
    "xinyipi_tier_scheme": (set(ROLES), {"sysadmin", "catalog_admin"}),
    "xinyipi_subject": ({"sysadmin", "catalog_admin", "reviewer", "approver", "supervisor"},
                        {"sysadmin", "catalog_admin"}),
    "xinyipi_dishonesty_record": ({"sysadmin", "catalog_admin", "reviewer", "approver", "supervisor"},
                                  {"sysadmin", "catalog_admin", "supervisor"}),
    "xinyipi_staff_user": ({"sysadmin"}, {"sysadmin"}),
}


def _client(app, role):
    client = app.test_client()
    sign_in(client, f"user_{role}", role)
    return client


def _filter_arg(app, endpoint, label):
    """The query-string index Flask-Admin gives the filter labelled `label` on a view."""
    view = next(v for v in app.extensions["xinyipi"].admin._views if v.endpoint == endpoint)
    return next(i for i, f in enumerate(view._filters) if str(f.name) == label)


def _first_id(endpoint):
    model = {"xinyipi_matter": Matter, "xinyipi_material": Material, "xinyipi_negative_list_entry": NegativeListEntry,
             "xinyipi_tier_scheme": TierScheme, "xinyipi_subject": Subject,
             "xinyipi_dishonesty_record": DishonestyRecord, "xinyipi_staff_user": StaffUser,
             "xinyipi_calendar_day": None}[endpoint]
    return model.select().first().id if model else None


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_and_changes_only_its_areas(seeded, app, role):
    client = _client(app, role)
    for endpoint, (readers, writers) in MATRIX.items():
        url = f"/admin/{endpoint}/"
        r = client.get(url)
        if role not in readers:
            assert r.status_code == 403, (role, url)
            assert "无权访问" in r.get_data(as_text=True)
            continue
        assert r.status_code == 200, (role, url)
        page = r.get_data(as_text=True)
        create = client.get(f"{url}new/")
        row = _first_id(endpoint)
        if role in writers:
            assert create.status_code == 200, (role, url)
            if endpoint not in ("xinyipi_staff_user",) and row:
                assert client.get(f"{url}edit/?id={row}").status_code == 200
        else:
            assert create.status_code == 403, (role, url)
            assert f'href="/admin/{endpoint}/new/' not in page         # no create button either
            if row:
                assert client.get(f"{url}edit/?id={row}").status_code == 403
                assert client.post(f"{url}delete/", data={"id": row}).status_code == 403
                assert client.post(f"{url}action/", data={"action": "delete", "rowid": [row]}).status_code == 403
    # the menu shows only what the role may open
    home = client.get("/admin/").get_data(as_text=True)
    assert ("/admin/xinyipi_staff_user/" in home) == (role == "sysadmin")
    assert ("/admin/xinyipi_subject/" in home) == (role in MATRIX["xinyipi_subject"][0])


def test_forbidden_write_changes_nothing(seeded, app):
    client = _client(app, "reviewer")
    matter = Matter.select().first()
    r = client.post(f"/admin/xinyipi_matter/edit/?id={matter.id}", data={"name": "被篡改的名称"})
    assert r.status_code == 403
    assert Matter.get_by_id(matter.id).name == matter.name


def _form_fields(page: str) -> dict:
    """The values a browser would send for the form on `page` (inputs, selects, textareas)."""
    data = {}
    for m in re.finditer(r'<input[^>]*>', page):
        tag = m.group(0)
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox":
            if "checked" in tag:
                data[name.group(1)] = "y"
            continue
        if kind and kind.group(1) in ("submit", "button"):
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected',
                             m.group(2))
        if selected:
            data[m.group(1)] = selected.group(1) or selected.group(2)
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        import html
        data[m.group(1)] = html.unescape(m.group(2).lstrip("\n"))
    return {k: v for k, v in data.items() if "__prefix__" not in k}


def test_matter_requirements_edit_inline(seeded, app):
    """Edit a requirement, add one and remove one on the matter's own page: one save, all applied."""
    client = _client(app, "catalog_admin")
    matter = Matter.select().join(MaterialRequirement).group_by(Matter.id).first()
    reqs = list(MaterialRequirement.select().where(MaterialRequirement.matter == matter)
                .order_by(MaterialRequirement.position, MaterialRequirement.id))
    page = client.get(f"/admin/xinyipi_matter/edit/?id={matter.id}").get_data(as_text=True)
    data = _form_fields(page)
    ids = {k: v for k, v in data.items() if re.fullmatch(r"requirements-\d+-id", k)}
    assert sorted(int(v) for v in ids.values()) == sorted(r.id for r in reqs)
    first = next(k for k, v in ids.items() if int(v) == reqs[0].id).rsplit("-", 1)[0]
    data[f"{first}-necessity"] = "容缺后补"
    data[f"{first}-supplement_days"] = "7"
    data[f"{first}-waived_tiers"] = "red"
    if len(reqs) > 1:
        second = next(k for k, v in ids.items() if int(v) == reqs[1].id).rsplit("-", 1)[0]
        data[f"del-{second}"] = "y"
    used = {r.material_id for r in reqs}
    extra = Material.select().where(Material.id.not_in(used)).first()
    n = len(ids) + 5
    data.update({f"requirements-{n}-material": str(extra.id), f"requirements-{n}-necessity": "非必要",
                 f"requirements-{n}-copies": "2", f"requirements-{n}-position": "99",
                 f"requirements-{n}-waived_tiers": "", f"requirements-{n}-notes": "新增的材料"})
    r = client.post(f"/admin/xinyipi_matter/edit/?id={matter.id}", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]

    after = {q.material_id: q for q in MaterialRequirement.select().where(MaterialRequirement.matter == matter)}
    assert after[reqs[0].material_id].necessity == "容缺后补"
    assert after[reqs[0].material_id].supplement_days == 7
    assert after[reqs[0].material_id].waived_tier_codes == {"red"}
    if len(reqs) > 1:
        assert reqs[1].material_id not in after
    assert after[extra.id].copies == 2 and after[extra.id].notes == "新增的材料"
    assert AuditEntry.select().where(AuditEntry.action == "matter.update").count() == 1
    # what the red tier now gets reflects the edit at once (reference caches were cleared)
    from plugin.catalog.requirements import requirements_for
    red = {d.material_code: d.disposition for d in requirements_for(Matter.get_by_id(matter.id), "red")}
    assert red[reqs[0].material.code] in ("waived", "elicence")


def test_inline_save_with_a_bad_row_saves_nothing(seeded, app):
    client = _client(app, "catalog_admin")
    matter = Matter.select().join(MaterialRequirement).group_by(Matter.id).first()
    before = [(q.id, q.necessity, q.copies) for q in matter.requirements.order_by(MaterialRequirement.id)]
    data = _form_fields(client.get(f"/admin/xinyipi_matter/edit/?id={matter.id}").get_data(as_text=True))
    data["name"] = "改过的名称"
    key = next(k for k in data if re.fullmatch(r"requirements-\d+-copies", k))
    data[key] = "不是数字"
    r = client.post(f"/admin/xinyipi_matter/edit/?id={matter.id}", data=data)
    assert r.status_code == 200                           # the form comes back with the error
    assert Matter.get_by_id(matter.id).name == matter.name
    assert [(q.id, q.necessity, q.copies) for q in matter.requirements.order_by(MaterialRequirement.id)] == before
    # an emptied field (what a browser sends for letters typed into a number box) is a field error,
    # not a database error
    data[key] = ""
    page = client.post(f"/admin/xinyipi_matter/edit/?id={matter.id}", data=data).get_data(as_text=True)
    assert "请填写份数" in page and "NOT NULL" not in page and "constraint" not in page
    assert [(q.id, q.necessity, q.copies) for q in matter.requirements.order_by(MaterialRequirement.id)] == before


def test_per_tier_promised_limit_inline(seeded, app):
    client = _client(app, "catalog_admin")
    matter = Matter.select().where(Matter.promised_days >= 3).first()
    red = Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == "red")).get()
    MatterTierLimit.delete().where(MatterTierLimit.matter == matter).execute()
    data = _form_fields(client.get(f"/admin/xinyipi_matter/edit/?id={matter.id}").get_data(as_text=True))
    data.update({"tier_limits-0-tier": str(red.id), "tier_limits-0-promised_days": "1"})
    assert client.post(f"/admin/xinyipi_matter/edit/?id={matter.id}", data=data).status_code == 302
    assert Matter.get_by_id(matter.id).promised_days_for("red") == 1
    assert Matter.get_by_id(matter.id).promised_days_for("blue") == matter.promised_days


def test_matter_page_says_whether_it_is_on_the_negative_list(seeded, app):
    client = _client(app, "reviewer")
    closed = next(m for m in Matter.select() if is_on_negative_list(m))
    open_ = next(m for m in Matter.select() if not is_on_negative_list(m))
    page = client.get(f"/admin/xinyipi_matter/details/?id={closed.id}").get_data(as_text=True)
    entry = NegativeListEntry.get(NegativeListEntry.matter == closed)
    assert "本事项已列入失信主体负面清单" in page and entry.legal_basis in page
    page = client.get(f"/admin/xinyipi_matter/details/?id={open_.id}").get_data(as_text=True)
    assert "本事项未列入负面清单" in page
    # the list filter returns exactly the matters on the list
    arg = _filter_arg(app, "xinyipi_matter", "列入负面清单")
    listing = client.get(f"/admin/xinyipi_matter/?flt0_{arg}=1&page_size=100")
    text = listing.get_data(as_text=True)
    expected = {m.code for m in Matter.select() if is_on_negative_list(m)}
    shown = {m.code for m in Matter.select() if m.code in text}
    assert expected and shown == expected


def test_negative_list_add_end_remove_are_audited_and_take_effect(seeded, app):
    client = _client(app, "catalog_admin")
    matter = next(m for m in Matter.select() if not is_on_negative_list(m))
    today = _dt.date.today()
    r = client.post("/admin/xinyipi_negative_list_entry/new/", data={
        "matter": str(matter.id), "legal_basis": "《测试条例》第一条", "severity": "严重",
        "effective_from": (today - _dt.timedelta(days=1)).isoformat(), "effective_to": "", "note": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    entry = NegativeListEntry.get(NegativeListEntry.legal_basis == "《测试条例》第一条")
    assert is_on_negative_list(Matter.get_by_id(matter.id))
    # a black-tier subject is now refused on that matter, with the basis
    black = service.apply(matter.code, demo_code("black", "严重")) if matter.status == "published" else None
    if black is not None:
        assert black.status == "refused" and "《测试条例》第一条" in black.refusal_reason

    r = client.post("/admin/xinyipi_negative_list_entry/action/", data={"action": "end", "rowid": [entry.id]})
    assert r.status_code == 302
    assert NegativeListEntry.get_by_id(entry.id).effective_to == today
    assert client.post("/admin/xinyipi_negative_list_entry/delete/", data={"id": entry.id}).status_code == 302
    assert NegativeListEntry.get_or_none(NegativeListEntry.id == entry.id) is None
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.action.startswith("negative_list."))
               .order_by(AuditEntry.id)]
    assert actions == ["negative_list.create", "negative_list.end", "negative_list.delete"]
    assert all(e.actor == "user_catalog_admin" for e in AuditEntry.select().where(
        AuditEntry.action.startswith("negative_list.")))


def test_negative_list_entry_dates_are_checked(seeded, app):
    client = _client(app, "catalog_admin")
    matter = Matter.select().first()
    before = NegativeListEntry.select().count()
    r = client.post("/admin/xinyipi_negative_list_entry/new/", data={
        "matter": str(matter.id), "legal_basis": "依据", "severity": "严重",
        "effective_from": "2026-05-01", "effective_to": "2026-04-01", "note": ""}, follow_redirects=True)
    assert "失效日期不能早于生效日期" in r.get_data(as_text=True)
    assert NegativeListEntry.select().count() == before


def test_deleting_what_is_in_use_is_refused_with_a_reason(seeded, app):
    client = _client(app, "sysadmin")
    # a matter with a case
    case = service.apply(matter_with("standard_review").code, demo_code("blue"))
    matter = Matter.get_by_id(case.matter_id)
    r = client.post("/admin/xinyipi_matter/delete/", data={"id": matter.id}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "无法删除" in page and "1 个办件" in page
    assert Matter.get_or_none(Matter.id == matter.id) is not None
    assert MaterialRequirement.select().where(MaterialRequirement.matter == matter).count() > 0
    # a material a matter asks for
    material = Material.select().join(MaterialRequirement).first()
    page = client.post("/admin/xinyipi_material/delete/", data={"id": material.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "无法删除" in page and "事项材料要求" in page
    assert Material.get_or_none(Material.id == material.id) is not None
    # a tier subjects hold, removed inline from its scheme
    red = Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == "red")).get()
    data = _form_fields(client.get(f"/admin/xinyipi_tier_scheme/edit/?id={red.scheme_id}").get_data(as_text=True))
    prefix = next(k for k, v in data.items() if re.fullmatch(r"tiers-\d+-id", k) and v == str(red.id))[:-3]
    data[f"del-{prefix}"] = "y"
    data["name"] = "改名但不应保存"
    page = client.post(f"/admin/xinyipi_tier_scheme/edit/?id={red.scheme_id}", data=data,
                       follow_redirects=True).get_data(as_text=True)
    assert "无法删除" in page and "信用主体" in page
    assert Tier.get_or_none(Tier.id == red.id) is not None
    assert TierScheme.get_by_id(red.scheme_id).name != "改名但不应保存"


def test_deleting_an_unused_matter_takes_its_requirements_and_says_so(seeded, app):
    client = _client(app, "catalog_admin")
    matter = Matter.create(code="TEST-DEL-1", name="待删除的事项", department="测试局", kind="许可",
                           legal_days=20, promised_days=10)
    material = Material.select().first()
    MaterialRequirement.create(matter=matter, material=material)
    page = client.post("/admin/xinyipi_matter/delete/", data={"id": matter.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "1 个事项材料要求" in page
    assert Matter.get_or_none(Matter.id == matter.id) is None
    assert Material.get_or_none(Material.id == material.id) is not None
    assert AuditEntry.get(AuditEntry.action == "matter.delete").detail["label"] == "待删除的事项"


def test_subjects_search_filter_and_effective_tier(seeded, app):
    client = _client(app, "reviewer")
    black = Subject.get(Subject.code == demo_code("black", "严重"))
    page = client.get(f"/admin/xinyipi_subject/?search={black.code[:10]}").get_data(as_text=True)
    assert black.code in page
    page = client.get(f"/admin/xinyipi_subject/?search={black.code.lower()}").get_data(as_text=True)
    assert black.code in page
    page = client.get(f"/admin/xinyipi_subject/?search={black.name}").get_data(as_text=True)
    assert black.code in page and "严重失信" in page
    word = black.name[:3]                    # names are searched by their start (through the index)
    expected = {s.code for s in Subject.select().where(Subject.name.startswith(word))}
    page = client.get(f"/admin/xinyipi_subject/?search={word}&page_size=100").get_data(as_text=True)
    assert expected and {c for c in expected if c in page} == expected
    others = {s.code for s in Subject.select().where(~Subject.name.startswith(word))}
    assert not {c for c in others if c in page}

    blue = Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == "blue")).get()
    arg = _filter_arg(app, "xinyipi_subject", "导入信用等级")
    page = client.get(f"/admin/xinyipi_subject/?flt0_{arg}={blue.id}&page_size=100").get_data(as_text=True)
    codes = set(re.findall(r"\b[0-9A-Z]{18}\b", page))
    in_tier = {s.code for s in Subject.select().where(Subject.tier == blue)}
    assert codes and codes <= in_tier

    details = client.get(f"/admin/xinyipi_subject/details/?id={black.id}").get_data(as_text=True)
    assert "严重失信主体" in details and "生效的严重失信记录" in details


def test_subject_code_is_validated_on_create(seeded, app):
    client = _client(app, "catalog_admin")
    before = Subject.select().count()
    r = client.post("/admin/xinyipi_subject/new/", data={"code": "91460100QJWYLF5567", "name": "校验位错误的公司",
                                                         "kind": "organisation", "source": "人工"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "校验" in page
    assert Subject.select().count() == before
    good = new_subject("blue", seed=77)
    code = good.code
    good.delete_instance()
    r = client.post("/admin/xinyipi_subject/new/", data={"code": code.lower(), "name": "新录入的公司",
                                                         "kind": "person", "source": "人工"})
    assert r.status_code == 302
    created = Subject.get(Subject.code == code)
    assert created.kind == "organisation"         # derived from the code, whatever the form said


def test_dishonesty_record_repair_and_expire(seeded, app):
    client = _client(app, "supervisor")
    subject = new_subject("blue", seed=5)
    record = add_record(subject, "严重")
    from plugin.credit.tiers import effective_tier
    assert effective_tier(subject).blacklisted
    r = client.post("/admin/xinyipi_dishonesty_record/action/", data={"action": "repair", "rowid": [record.id]})
    assert r.status_code == 302
    assert DishonestyRecord.get_by_id(record.id).repaired_at is not None
    assert not effective_tier(Subject.get_by_id(subject.id)).blacklisted

    other = add_record(subject, "一般", reason="另一条记录")
    client.post("/admin/xinyipi_dishonesty_record/action/", data={"action": "expire", "rowid": [other.id]})
    assert DishonestyRecord.get_by_id(other.id).end < _dt.date.today()
    assert not effective_tier(Subject.get_by_id(subject.id)).has_dishonesty_record
    assert {e.action for e in AuditEntry.select().where(AuditEntry.actor == "user_supervisor")} >= {
        "dishonesty_record.repair", "dishonesty_record.expire"}

    # a supervisor records a new one through the form
    r = client.post("/admin/xinyipi_dishonesty_record/new/", data={
        "subject": str(subject.id), "severity": "严重", "reason": "虚假承诺", "authority": "市场监管局",
        "start": _dt.date.today().isoformat(), "end": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert effective_tier(Subject.get_by_id(subject.id)).blacklisted


def test_tier_scheme_shows_colours_and_ratios(seeded, app):
    client = _client(app, "catalog_admin")
    scheme = TierScheme.get(TierScheme.code == "haikou")
    page = client.get("/admin/xinyipi_tier_scheme/").get_data(as_text=True)
    for tier in scheme.tiers:
        assert f"background:{tier.colour}" in page
    details = client.get(f"/admin/xinyipi_tier_scheme/details/?id={scheme.id}").get_data(as_text=True)
    for tier in scheme.tiers:
        assert f"{tier.inspection_ratio * 100:.1f}%" in details


def test_activating_a_scheme(seeded, app):
    client = _client(app, "catalog_admin")
    jiangdu = TierScheme.get(TierScheme.code == "jiangdu")
    client.post("/admin/xinyipi_tier_scheme/action/", data={"action": "activate", "rowid": [jiangdu.id]})
    from plugin.credit.tiers import active_scheme_info
    assert active_scheme_info().code == "jiangdu"
    assert [s.code for s in TierScheme.select().where(TierScheme.active == True)] == ["jiangdu"]  # noqa: E712


def test_sysadmin_creates_staff_and_they_can_sign_in(seeded, app):
    admin = _client(app, "sysadmin")
    r = admin.post("/admin/xinyipi_staff_user/new/", data={
        "username": "newreviewer", "name": "新审查员", "role": "reviewer", "department": "行政审批局",
        "active": "y", "password": "short"})
    assert r.status_code == 200 and StaffUser.get_or_none(StaffUser.username == "newreviewer") is None
    r = admin.post("/admin/xinyipi_staff_user/new/", data={
        "username": "newreviewer", "name": "新审查员", "role": "reviewer", "department": "行政审批局",
        "active": "y", "password": "long-enough-password"})
    assert r.status_code == 302
    client = app.test_client()
    sign_in(client, "newreviewer", password="long-enough-password")
    assert client.get("/admin/xinyipi_staff_user/").status_code == 403
    # accounts are disabled, not deleted
    user = StaffUser.get(StaffUser.username == "newreviewer")
    page = admin.post("/admin/xinyipi_staff_user/delete/", data={"id": user.id},
                      follow_redirects=True).get_data(as_text=True)
    assert "改为停用" in page and StaffUser.get_or_none(StaffUser.id == user.id) is not None
