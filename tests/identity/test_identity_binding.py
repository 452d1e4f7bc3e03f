"""Attacks on binding a portal account to a subject of the credit library: the public code and name
are not enough; the activation code goes only to the contact the library holds (imported by
`xinyipi import-subjects`), is kept only as a digest, expires, works once and only a few tries; a
subject without a contact waits for a staff review; the contact hears of every binding. SMTP is
tested against a real SMTP server (aiosmtpd) on 127.0.0.1."""
from __future__ import annotations

import logging
import re
import threading

import pytest

from plugin.applications.models import AuditEntry
from plugin.credit.models import Subject
from plugin.identity import binding
from plugin.identity.models import BindingRequest
from plugin.notifications import Notification
from plugin.portal.models import ApplicantAccount
from tests.helpers import demo_code
from tests.identity.conftest import PASSWORD, csrf, make_app, serving, staff

RED = demo_code("red")
NAME = "海口椰城餐饮管理有限公司"
EMAIL = "finance@yecheng.example.cn"


@pytest.fixture
def with_contact(seeded, cli_runner, tmp_path):
    """The credit platform's export, imported with the optional contact columns."""
    export = tmp_path / "subjects.csv"
    export.write_text(f"code,name,tier,contact_email,contact_phone\n{RED},{NAME},red,{EMAIL},0898-66881234\n",
                      encoding="utf-8")
    result = cli_runner("import-subjects", str(export))
    assert result.exit_code == 0, result.output
    subject = Subject.get(Subject.code == RED)
    assert subject.contact_email == EMAIL and subject.contact_phone == "0898-66881234"
    return subject


def _register(client, code=RED, name=NAME, password=PASSWORD, ip="127.0.0.1"):
    page = client.get("/portal/register", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True)
    return client.post("/portal/register", environ_base={"REMOTE_ADDR": ip}, data={
        "code": code, "name": name, "password": password, "confirm": password, "csrf_token": csrf(page)})


def _activate(client, code, action="activate"):
    page = client.get("/portal/activate").get_data(as_text=True)
    return client.post("/portal/activate", data={"activation_code": code, "action": action,
                                                 "csrf_token": csrf(page)})


def _codes(caplog) -> list[str]:
    """Activation codes the in-app/log channel delivered, oldest first."""
    return [m.group(1) for r in caplog.records if r.name == "xinyipi.notifications"
            for m in [re.search(r"激活码：(\d{8})", r.getMessage())] if m]


def test_the_activation_code_from_the_contact_binds_and_the_contact_is_told(with_contact, id_app, caplog):
    caplog.set_level(logging.INFO, logger="xinyipi.notifications")
    client = id_app.test_client()
    r = _register(client)
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/activate")
    page = client.get("/portal/activate").get_data(as_text=True)
    assert "fi***@yecheng.example.cn" in page and EMAIL not in page        # masked for the requester
    assert ApplicantAccount.select().count() == 0 and client.get("/portal/cases").status_code == 302
    [code] = _codes(caplog)
    # the code is nowhere in the database in clear
    req = BindingRequest.get()
    assert code not in (req.activation_hash or "") and req.activation_hash and len(req.activation_hash) == 64
    assert not Notification.select().where(Notification.body.contains(code)).exists()
    r = _activate(client, code)
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/cases")
    assert client.get("/portal/cases").status_code == 200
    account = ApplicantAccount.get(ApplicantAccount.code == RED)
    assert account.verified and account.verified_via == "activation" and account.check_password(PASSWORD)
    kinds = [(n.kind, n.recipient, n.status) for n in Notification.select().order_by(Notification.id)]
    assert kinds == [("activation", EMAIL, "sent"), ("binding", EMAIL, "sent")]
    assert "已于" in Notification.get(Notification.kind == "binding").body
    assert AuditEntry.select().where(AuditEntry.action == "binding.bound").count() == 1


def test_a_stranger_cannot_guess_the_code(with_contact, id_app, caplog):
    caplog.set_level(logging.INFO, logger="xinyipi.notifications")
    stranger = id_app.test_client()
    _register(stranger, password="stranger-pass-9")
    [code] = _codes(caplog)
    wrong = f"{(int(code) + 1) % 10 ** 8:08d}"
    for attempt in range(binding.MAX_ATTEMPTS):
        r = _activate(stranger, wrong)
        assert r.status_code == 422
    assert "错误次数过多" in r.get_data(as_text=True)
    r = _activate(stranger, code)                      # even the right code is dead now
    assert r.status_code == 422 and "错误次数过多" in r.get_data(as_text=True)
    assert ApplicantAccount.select().count() == 0
    assert BindingRequest.get().activation_attempts == binding.MAX_ATTEMPTS


def test_the_code_works_once_even_when_sent_twice_at_the_same_time(with_contact, id_app, caplog):
    caplog.set_level(logging.INFO, logger="xinyipi.notifications")
    with id_app.app_context():
        req, _token = binding.request_binding(Subject.get(Subject.code == RED), NAME, "pbkdf2:x$y$z")
    [code] = _codes(caplog)
    outcomes = []
    barrier = threading.Barrier(2)

    def use():
        from plugin.db import database
        with id_app.app_context():
            barrier.wait()
            try:
                outcomes.append(binding.activate(BindingRequest.get_by_id(req.id), code))
            except binding.Refused as e:
                outcomes.append(e)
            finally:
                database.close()
    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(isinstance(o, ApplicantAccount) for o in outcomes) == 1, outcomes
    assert ApplicantAccount.select().count() == 1
    with id_app.app_context(), pytest.raises(binding.Refused, match="已处理"):
        binding.activate(BindingRequest.get_by_id(req.id), code)


def test_an_expired_code_is_refused(with_contact, id_app, caplog):
    caplog.set_level(logging.INFO, logger="xinyipi.notifications")
    client = id_app.test_client()
    _register(client)
    [code] = _codes(caplog)
    import datetime as _dt
    req = BindingRequest.get()                       # 31 minutes later: the code is 1 minute past its time
    BindingRequest.update(activation_expires_at=req.activation_expires_at - _dt.timedelta(minutes=31)).execute()
    r = _activate(client, code)
    assert r.status_code == 422 and "激活码已过期" in r.get_data(as_text=True)
    # a new code (the old one stops working), then a limit on how many are sent
    _activate(client, "", action="resend")
    codes = _codes(caplog)
    assert len(codes) == 2 and _activate(client, codes[0]).status_code == 422
    _activate(client, "", action="resend")
    r = _activate(client, "", action="resend")
    assert r.status_code == 422 and "不能再发送" in r.get_data(as_text=True)
    assert BindingRequest.get().codes_sent == binding.MAX_CODES
    assert _activate(client, _codes(caplog)[-1]).status_code == 302


def test_a_stranger_s_request_lapses_when_the_company_binds(with_contact, id_app, caplog):
    caplog.set_level(logging.INFO, logger="xinyipi.notifications")
    stranger, company = id_app.test_client(), id_app.test_client()
    _register(stranger, password="stranger-pass-9")
    _register(company)
    stranger_code, company_code = _codes(caplog)
    assert _activate(stranger, company_code).status_code == 422       # another request's code opens nothing
    assert _activate(company, company_code).status_code == 302
    assert BindingRequest.get(BindingRequest.password_hash.startswith("scrypt") &
                              (BindingRequest.status == "superseded")) is not None
    assert "已由其他申请绑定" in stranger.get("/portal/activate").get_data(as_text=True)
    token = csrf(stranger.get("/portal/register").get_data(as_text=True))
    r = stranger.post("/portal/activate", data={"activation_code": stranger_code, "csrf_token": token})
    assert r.status_code == 422 and "已处理" in r.get_data(as_text=True)
    assert ApplicantAccount.get().check_password(PASSWORD)


def test_without_a_contact_the_binding_waits_for_staff_review(seeded, id_app):
    assert Subject.get(Subject.code == RED).contact_email is None
    client = id_app.test_client()
    r = _register(client)
    assert r.status_code == 302
    assert "等待工作人员审核" in client.get("/portal/activate").get_data(as_text=True)
    # signing in before the review says so (same password), and signs nobody in
    page = client.get("/portal/login").get_data(as_text=True)
    r = client.post("/portal/login", data={"code": RED, "password": PASSWORD, "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/activate")
    assert "等待工作人员审核" in client.get("/portal/activate").get_data(as_text=True)
    assert client.get("/portal/cases").status_code == 302
    # the same from another browser (the requester's password proves it is their request) …
    other = id_app.test_client()
    page = other.get("/portal/login").get_data(as_text=True)
    other.post("/portal/login", data={"code": RED, "password": PASSWORD, "csrf_token": csrf(page)})
    assert "等待工作人员审核" in other.get("/portal/activate").get_data(as_text=True)
    # … but a wrong password shows nothing of it
    stranger = id_app.test_client()
    page = stranger.get("/portal/login").get_data(as_text=True)
    r = stranger.post("/portal/login", data={"code": RED, "password": "not-theirs-1", "csrf_token": csrf(page)})
    assert r.status_code == 401 and stranger.get("/portal/activate").status_code == 404
    # a reviewer may not review; a catalog administrator approves in the admin
    reviewer = id_app.test_client()
    staff("rev", role="reviewer")
    page = reviewer.get("/admin/login").get_data(as_text=True)
    reviewer.post("/admin/login", data={"username": "rev", "password": "staff-pass-2026", "csrf_token": csrf(page)})
    assert reviewer.get("/admin/xinyipi_binding_request/").status_code == 403
    admin = id_app.test_client()
    staff("keeper", role="catalog_admin")
    page = admin.get("/admin/login").get_data(as_text=True)
    admin.post("/admin/login", data={"username": "keeper", "password": "staff-pass-2026", "csrf_token": csrf(page)})
    listing = admin.get("/admin/xinyipi_binding_request/").get_data(as_text=True)
    assert RED in listing and "待人工审核" in listing
    req = BindingRequest.get()
    r = admin.post("/admin/xinyipi_binding_request/action/", data={
        "action": "approve", "rowid": str(req.id), "csrf_token": csrf(listing)})
    assert r.status_code == 302
    account = ApplicantAccount.get(ApplicantAccount.code == RED)
    assert account.verified_via == "staff:keeper"
    assert AuditEntry.get(AuditEntry.action == "binding.bound").actor == "staff:keeper"
    page = client.get("/portal/login").get_data(as_text=True)
    assert client.post("/portal/login", data={"code": RED, "password": PASSWORD,
                                              "csrf_token": csrf(page)}).status_code == 302


def test_a_rejected_request_binds_nothing(seeded, id_app, cli_runner):
    client = id_app.test_client()
    _register(client)
    req = BindingRequest.get()
    result = cli_runner("account", "reject", str(req.id), "--reason", "授权书不符", "--by", "zhang")
    assert result.exit_code == 0, result.output
    page = client.get("/portal/activate").get_data(as_text=True)
    assert "未通过审核" in page and "授权书不符" in page
    assert cli_runner("account", "approve", str(req.id)).exit_code != 0
    assert ApplicantAccount.select().count() == 0
    assert AuditEntry.get(AuditEntry.action == "binding.rejected").actor == "cli:zhang"


def test_too_many_open_requests_for_one_subject_are_refused(seeded, id_app):
    for i in range(binding.MAX_OPEN):
        assert _register(id_app.test_client(), ip=f"203.0.113.{i + 1}").status_code == 302
    r = _register(id_app.test_client(), ip="203.0.113.99")
    assert r.status_code == 422 and "待处理的绑定申请" in r.get_data(as_text=True)


def test_import_reports_bad_contacts_by_line_and_keeps_contacts_it_is_not_given(seeded, cli_runner, tmp_path):
    export = tmp_path / "bad.csv"
    export.write_text(f"code,name,tier,contact_email\n{RED},{NAME},red,not-an-email\n", encoding="utf-8")
    result = cli_runner("import-subjects", str(export))
    assert result.exit_code == 1 and "line 2" in result.output and "contact_email" in result.output
    good = tmp_path / "good.jsonl"
    good.write_text('{"code": "%s", "name": "%s", "tier": "red", "contact_phone": "13800138000"}\n' % (RED, NAME),
                    encoding="utf-8")
    assert cli_runner("import-subjects", str(good)).exit_code == 0
    plain = tmp_path / "plain.csv"
    plain.write_text(f"code,name,tier\n{RED},{NAME},orange\n", encoding="utf-8")
    assert cli_runner("import-subjects", str(plain)).exit_code == 0
    subject = Subject.get(Subject.code == RED)
    assert subject.contact_phone == "13800138000" and subject.tier.code == "orange"


def test_codes_and_binding_notices_go_out_by_smtp(with_contact, database_url, tmp_path):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"
    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(database_url, tmp_path, XINYIPI_SMTP_HOST="127.0.0.1", XINYIPI_SMTP_PORT=port,
                       XINYIPI_SMTP_FROM="noreply@xinyipi.example.cn")
        with serving(app) as url:
            import requests
            http = requests.Session()
            token = csrf(http.get(f"{url}/portal/register").text)
            r = http.post(f"{url}/portal/register", data={"code": RED, "name": NAME, "password": PASSWORD,
                                                         "confirm": PASSWORD, "csrf_token": token})
            assert "输入激活码" in r.text
            assert len(received) == 1 and received[0][0] == [EMAIL]
            import email
            body = email.message_from_string(received[0][1]).get_payload(decode=True).decode("utf-8")
            code = re.search(r"激活码：(\d{8})", body).group(1)
            token = csrf(r.text)
            r = http.post(f"{url}/portal/activate", data={"activation_code": code, "csrf_token": token})
            assert r.url.endswith("/portal/cases") and r.status_code == 200
        from email import policy
        notice = email.message_from_string(received[1][1], policy=policy.default)
        assert len(received) == 2 and "账号绑定通知" in notice["Subject"]
        assert [n.channel for n in Notification.select()] == ["smtp", "smtp"]
    finally:
        controller.stop()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_smtp_failure_is_said_not_raised(with_contact, database_url, tmp_path):
    dead_port = _free_port()
    app = make_app(database_url, tmp_path, XINYIPI_SMTP_HOST="127.0.0.1", XINYIPI_SMTP_PORT=dead_port)
    client = app.test_client()
    assert _register(client).status_code == 302
    r = _activate(client, "", action="resend")
    assert r.status_code == 302
    page = client.get("/portal/activate").get_data(as_text=True)
    assert "激活码发送失败" in page and "Traceback" not in page
    assert Notification.select().where(Notification.status == "failed").count() == 2
