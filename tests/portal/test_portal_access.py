"""An applicant sees only their own cases: another's case, files, PDFs and diagram are 404."""
from __future__ import annotations

import re

from plugin.applications.models import Application
from tests.portal.conftest import (applicant_task_link, case_page, make_app, start_draft,
                                   submit)

INSTANT = "000117006000-HK"      # 公共场所卫生许可证核发: red → 秒批
COMMITMENT = "000119001000-HK"   # 人力资源服务许可: orange → 告知承诺


def test_anonymous_applicants_are_sent_to_sign_in(portal_app):
    client = portal_app.test_client()
    for url in ("/portal/cases", "/portal/cases/XYP1/draft", "/portal/cases/XYP1", "/portal/cases/XYP1/decision.pdf"):
        r = client.get(url)
        assert r.status_code == 302 and "/portal/login?next=" in r.headers["Location"], url
    r = client.post(f"/portal/matters/{INSTANT}/apply")
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]
    assert Application.select().count() == 0
    # the guide itself is public
    assert client.get("/portal/").status_code == 200
    assert client.get(f"/portal/matters/{INSTANT}").status_code == 200


def test_another_applicants_case_is_404_everywhere(applicant):
    orange = applicant("orange")
    number = start_draft(orange, COMMITMENT)
    r = submit(orange, number)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    task = applicant_task_link(case_page(orange, number))
    sign = orange.get(task).get_data(as_text=True)
    digest = re.search(r'name="text_sha256" value="([0-9a-f]{64})"', sign).group(1)
    version = re.search(r'name="version" value="(\d+)"', sign).group(1)
    r = orange.post(task, data={"agree": "true", "text_sha256": digest, "version": version})
    assert r.status_code == 302
    page = case_page(orange, number)
    assert "准予许可" in page
    commitment_pdf = re.search(r'href="(/portal/cases/[^"]+/commitments/\d+\.pdf)"', page).group(1)
    material = re.search(r'href="(/portal/cases/[^"]+/files/\w+)"', page).group(1)
    own = [f"/portal/cases/{number}", f"/portal/cases/{number}/decision.pdf", f"/portal/cases/{number}/diagram.xml",
           commitment_pdf, material]
    for url in own:
        assert orange.get(url).status_code == 200, url

    red = applicant("red")
    for url in own + [f"/portal/cases/{number}/draft", task]:
        assert red.get(url).status_code == 404, url
    assert red.post(task, data={"agree": "true", "text_sha256": digest}).status_code == 404
    assert red.post(f"/portal/cases/{number}/discard").status_code == 404
    # and the case list shows only one's own
    assert number in orange.get("/portal/cases").get_data(as_text=True)
    assert number not in red.get("/portal/cases").get_data(as_text=True)


def test_another_applicants_draft_cannot_be_changed(applicant):
    orange = applicant("orange")
    number = start_draft(orange, COMMITMENT)
    red = applicant("red")
    r = red.post(f"/portal/cases/{number}/draft", data={"action": "save", "contact_name": "冒名"})
    assert r.status_code == 404
    assert Application.get(Application.number == number).form_data == {}


def test_portal_posts_need_the_csrf_token(seeded, database_url, tmp_path):
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    r = client.post("/portal/login", data={"code": "91460100QJWYLF5568", "password": "x"})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    page = client.get("/portal/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    from tests.portal.conftest import account_for
    account_for("91460100QJWYLF5568")
    r = client.post("/portal/login", data={"code": "91460100QJWYLF5568", "password": "portal-pass-1",
                                           "csrf_token": token})
    assert r.status_code == 302
    # every portal form carries the token
    guide = client.get(f"/portal/matters/{INSTANT}").get_data(as_text=True)
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", guide, re.S)
    assert forms and all('name="csrf_token"' in f for f in forms)
    assert client.post(f"/portal/matters/{INSTANT}/apply").status_code == 400
    assert Application.select().count() == 0
