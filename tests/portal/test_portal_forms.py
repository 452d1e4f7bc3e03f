"""Generated forms: every type and constraint of camunda:formData, validated on the server with one
Chinese message per field, accessible markup; the draft's own form; drafts survive a reload."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugin.applications.models import Application
from plugin.engine.publish import publish
from tests.helpers import matter_with
from tests.portal.conftest import (CONTACT, PDF, applicant_task_link, case_page, file, sign_in_applicant,
                                   start_draft, submit)

HERE = Path(__file__).parent
INSTANT = "000117006000-HK"


def _field_error(page: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-error">([^<]+)<', page)
    return found.group(1) if found else ""


@pytest.fixture
def form_case(applicant):
    """A blue applicant's case waiting at an applicant task with one field of each type."""
    matter = matter_with("standard_review")
    publish((HERE / "applicant_form.bpmn").read_text(encoding="utf-8"), source="test", matter=matter)
    client = applicant("blue")
    number = start_draft(client, matter.code)
    r = submit(client, number)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    task = applicant_task_link(case_page(client, number))
    assert task, "the applicant task is offered on the case page"
    return client, number, task


def test_generated_form_renders_every_type_with_its_constraints(form_case):
    client, number, task = form_case
    page = client.get(task).get_data(as_text=True)
    assert "填写经营信息" in page and "请如实填写经营信息。" in page
    assert re.search(r'<label for="f-project_name">项目名称', page)
    assert re.search(r'id="f-project_name"[^>]*minlength="4"[^>]*maxlength="20"', page, re.S)
    assert re.search(r'id="f-staff_count"[^>]*type="number"[^>]*min="1"[^>]*max="500"', page, re.S)
    assert re.search(r'id="f-opening_date"[^>]*type="date"', page, re.S)
    assert re.search(r'<legend>经营规模', page)
    assert page.count('name="scale" value=') == 3 and "中型" in page
    assert re.search(r'type="checkbox" id="f-confirmed"', page)
    assert re.search(r'<label for="f-confirmed">本人确认所填信息属实', page)
    assert 'aria-describedby="f-project_name-hint"' in page and "4–20 个字" in page


@pytest.mark.parametrize("values, field, message", [
    ({"project_name": ""}, "project_name", "“项目名称”为必填项"),
    ({"project_name": "短"}, "project_name", "“项目名称”至少 4 个字"),
    ({"project_name": "很长" * 11}, "project_name", "“项目名称”最多 20 个字（现为 22 个）"),
    ({"staff_count": "十个"}, "staff_count", "“从业人员数量”应为整数"),
    ({"staff_count": "0"}, "staff_count", "“从业人员数量”不能小于 1"),
    ({"staff_count": "501"}, "staff_count", "“从业人员数量”不能大于 500"),
    ({"opening_date": "2026-13-01"}, "opening_date", "“拟开业日期”应为日期（YYYY-MM-DD）"),
    ({"opening_date": ""}, "opening_date", "“拟开业日期”为必填项"),
    ({"scale": "huge"}, "scale", "“经营规模”不是可选值之一"),
    ({"confirmed": None}, "confirmed", "请勾选“本人确认所填信息属实”"),
])
def test_each_field_gets_its_own_message(form_case, values, field, message):
    client, number, task = form_case
    good = {"project_name": "椰城便民超市", "staff_count": "12", "opening_date": "2026-12-01", "scale": "small",
            "confirmed": "true"}
    data = {k: v for k, v in (good | values).items() if v is not None}
    page = client.get(task).get_data(as_text=True)
    data["version"] = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = client.post(task, data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message in _field_error(page, field)
    others = [f for f in good if f != field]
    assert all(not _field_error(page, f) for f in others)
    # the summary is an alert linking to the field; the field is marked and described
    assert re.search(r'class="error-summary" role="alert"', page)
    assert f'href="#f-{field}"' in page
    if field != "scale":
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', page, re.S)
        assert re.search(rf'id="f-{field}"[^>]*aria-describedby="[^"]*f-{field}-error', page, re.S)
    # what was typed is shown again, and the case did not move
    if field != "project_name":
        assert 'value="椰城便民超市"' in page
    assert Application.get(Application.number == number).status == "in_review"


def test_a_valid_form_completes_the_task(form_case):
    client, number, task = form_case
    page = client.get(task).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = client.post(task, data={"project_name": "椰城便民超市", "staff_count": "12", "opening_date": "2026-12-01",
                                "scale": "medium", "confirmed": "true", "version": version})
    assert r.status_code == 302
    case = Application.get(Application.number == number)
    assert case.status == "approved"
    assert "“填写经营信息”已提交" in case_page(client, number)
    # the task is done: posting the same form again changes nothing and leads back to the case
    r = client.post(task, data={"project_name": "另一个名称", "staff_count": "3", "opening_date": "2026-12-02",
                                "scale": "small", "confirmed": "true", "version": version})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/portal/cases/{number}")
    assert Application.get(Application.number == number).version == case.version


def test_draft_form_validation_messages_and_nothing_is_lost(applicant):
    client = applicant("red")
    number = start_draft(client, INSTANT)
    r = client.post(f"/portal/cases/{number}/draft", data={
        "action": "submit", "contact_name": "王", "contact_phone": "电话号码abc", "description": "说" * 501,
        "file_M001": file(PDF, "申请书.pdf")}, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "“经办人姓名”至少 2 个字" in _field_error(page, "contact_name")
    assert "“联系电话”只能包含数字" in _field_error(page, "contact_phone")
    assert "“申请说明”最多 500 个字" in _field_error(page, "description")
    assert 'role="alert"' in page and "已填写的内容和已上传的文件均已保存" in page
    case = Application.get(Application.number == number)
    assert case.status == "draft" and case.form_data["contact_name"] == "王"
    assert 'data-testid="uploaded-M001"' in page

    # required fields and required materials
    r = client.post(f"/portal/cases/{number}/draft", data={"action": "submit", "contact_name": "",
                                                           "contact_phone": ""}, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert "“经办人姓名”为必填项" in page and "“联系电话”为必填项" in page
    r = client.post(f"/portal/cases/{number}/draft", data=dict(CONTACT, action="submit"),
                    content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "还有材料需要上传" in page
    assert re.search(r'id="m-M007-error">请上传“场所平面布局图”', page)
    assert not re.search(r'id="m-M001-error"', page)              # already uploaded
    assert Application.get(Application.number == number).status == "draft"


def test_draft_survives_a_reload_and_a_new_sign_in(portal_app, applicant):
    client = applicant("red")
    number = start_draft(client, INSTANT)
    r = client.post(f"/portal/cases/{number}/draft", data=dict(CONTACT, action="save", file_M007=file(PDF, "布局图.pdf")),
                    content_type="multipart/form-data")
    assert r.status_code == 302
    assert "草稿已保存" in client.get(r.headers["Location"]).get_data(as_text=True)

    other = portal_app.test_client()                      # another device, signed in afresh
    sign_in_applicant(other, client.code)
    page = other.get("/portal/cases").get_data(as_text=True)
    assert number in page and "草稿" in page
    r = other.get(f"/portal/cases/{number}")              # a draft opens its form again
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/portal/cases/{number}/draft")
    page = other.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    assert 'value="王小明"' in page and 'value="0898-66668888"' in page and "新开门店" in page
    assert "布局图.pdf" in page
    # applying for the same matter again resumes the same draft
    assert start_draft(other, INSTANT) == number
    # the file can be removed again
    r = other.post(f"/portal/cases/{number}/draft", data={"action": "remove:M007"})
    assert r.status_code == 302
    page = other.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    assert "布局图.pdf" not in page and 'value="王小明"' in page
    # and the draft can be discarded
    r = other.post(f"/portal/cases/{number}/discard")
    assert r.status_code == 302
    assert Application.get_or_none(Application.number == number) is None
