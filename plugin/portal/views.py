"""The portal's pages. Every case page loads the case through `service.get_for_applicant`, so
another applicant's case, its files, PDFs and diagram are 404, never 403."""
from __future__ import annotations

import os
from functools import wraps

from flask import (Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   session, url_for)
from flask_babel import get_locale
from peewee import DataError

from plugin.applications import materials, progress, service
from plugin.applications.models import APPROVED, DRAFT, FINAL, STATUSES, AuditEntry
from plugin.applications.vocabulary import PATH_DESCRIPTIONS, PATHS
from plugin.calendar import working_days_between
from plugin.catalog import requirements as req
from plugin.catalog.facts import matter_facts
from plugin.credit.models import Subject
from plugin.engine.forms import FormErrors
from plugin.headers import diagram_response
from plugin.i18n import _
from plugin.identity import accounts as account_ops
from plugin.identity import binding, ratelimit
from plugin.identity.login import APPLICANT, SignedIn
from plugin.identity.login import current as signed_in
from plugin.identity.login import manager as login_manager   # (`login` is the sign-in view below)
from plugin.portal import documents, identity, portal
from plugin.roles import LANES
from plugin.urls import is_out_of_range, safe_next

BINDING_KEY = "xinyipi_binding"            # the token of the requester's binding request
BINDING_NEXT = "xinyipi_binding_next"      # where to go once it is bound
UPLOAD_ENDPOINTS = frozenset({"xinyipi_portal.draft", "xinyipi_portal.task"})
GROUP_ORDER = (req.UPLOAD, req.OPTIONAL_UPLOAD, req.DEFER, req.COMMITMENT, req.ELICENCE, req.WAIVED)


# ---------------------------------------------------------------------------------------------
# who is signed in
# ---------------------------------------------------------------------------------------------
class Applicant(SignedIn):
    """The signed-in applicant (id ``applicant:<token>``), the portal's user type of Flask-Login's
    machinery (`plugin.identity.login`): loaded by the same rules as staff (a live server-side
    session, an enabled account, the password it started under)."""

    @property
    def code(self) -> str:
        return self.account.code

    @property
    def subject(self) -> Subject:
        if "_subject" not in self.__dict__:
            self._subject = self.account.subject
        return self._subject


def current_account():
    """The signed-in applicant's account, or None."""
    user = signed_in(APPLICANT)
    return user.account if user is not None else None


def current_applicant() -> Subject | None:
    user = signed_in(APPLICANT)
    return user.subject if user is not None else None


def _actor() -> service.Actor:
    return service.Actor.applicant(current_applicant().code)


def _safe_next(target: str | None) -> str | None:
    """Only the portal's own pages are followed after sign-in."""
    return safe_next(target, under="/portal")


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_applicant() is None:
            return redirect(url_for(".login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


def _audit(subject: Subject | None, actor: str, action: str, **detail) -> None:
    AuditEntry.create(subject=subject, actor=actor[:100], action=action, detail=detail)


@portal.before_request
def _idle_expiry():
    manager = login_manager()
    if not manager.holds_session(APPLICANT):
        return None
    expired = manager.idle(APPLICANT, current_app.config.get("XINYIPI_SESSION_MINUTES", 30) * 60)
    if expired or current_account() is None:
        manager.sign_out(APPLICANT, "idle" if expired else "gone")
        flash(_("登录已超时，请重新登录。") if expired else _("登录已失效，请重新登录。"), "warning")
        if request.endpoint not in ("xinyipi_portal.login", "xinyipi_portal.static"):
            if request.method == "GET" and request.endpoint in ("xinyipi_portal.index", "xinyipi_portal.matter"):
                return None
            return redirect(url_for(".login", next=request.full_path.rstrip("?")))
        return None
    manager.touch(APPLICANT)
    if current_account().must_change_password and request.endpoint not in (
            "xinyipi_portal.password", "xinyipi_portal.logout", "xinyipi_portal.static"):
        flash(_("工作人员已重置您的密码，请先设置新密码。"), "warning")
        return redirect(url_for(".password"))
    return None


@portal.errorhandler(429)
def _too_many(e):
    wait = ratelimit.retry_after()
    page = render_template("portal/message.html", title=_("操作过于频繁"),
                           message=_("操作过于频繁，请 %(seconds)s 秒后再试。", seconds=wait), back=request.path)
    return Response(page, status=429, headers={"Retry-After": str(wait)})


@portal.app_context_processor
def _globals():
    return {"xyp_applicant": current_applicant, "xyp_lang": lambda: str(get_locale() or "zh_CN")}


@portal.errorhandler(413)
def _too_large(e):
    mb = current_app.config["XINYIPI_MAX_UPLOAD_MB"]
    from plugin.portal import UPLOAD_BATCH
    message = _("上传的内容过大：每个文件不超过 %(mb)s MB，一次最多上传 %(n)s 个文件。已保存的内容不受影响，请分次上传。",
                mb=mb, n=UPLOAD_BATCH)
    return render_template("portal/message.html", title=_("文件过大"), message=message,
                           back=request.path), 413


@portal.errorhandler(404)
def _not_found(e):
    return render_template("portal/message.html", title=_("页面不存在"),
                           message=_("您要找的页面或办件不存在。"), back=url_for(".index")), 404


@portal.errorhandler(OverflowError)
@portal.errorhandler(DataError)
def _number_out_of_range(e):
    """A number from the request that no database holds (see `plugin.urls`): not found, not a 500."""
    if not is_out_of_range(e):
        raise e
    return _not_found(e)


# ---------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------
@portal.route("/register", methods=["GET", "POST"])
def register():
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("code", "name")}
        try:
            done = identity.register(values["code"], values["name"], request.form.get("password", ""),
                                     request.form.get("confirm", ""), ip=request.remote_addr or "")
        except identity.Refused as e:
            errors, status = e.errors, 422
        else:
            if done.request is not None:
                session[BINDING_KEY] = done.token
                session[BINDING_NEXT] = _safe_next(request.form.get("next")) or ""
                return redirect(url_for(".activate"))
            subject = done.account.subject
            _audit(subject, f"applicant:{subject.code}", "applicant.registered", self_registered=done.created,
                   verified=False)
            _sign_in(done.account)
            flash(_("注册成功。信用主体库中尚无您的记录，已按“自主注册”建档：在信用平台评定之前，"
                    "您的信用等级按当前等级体系的默认等级计算。您的身份尚未核验，核验前不能适用告知承诺和容缺受理。"), "info")
            return redirect(_safe_next(request.form.get("next")) or url_for(".cases"))
    return render_template("portal/register.html", errors=errors, values=values,
                           next=_safe_next(request.values.get("next")) or ""), status


@portal.route("/activate", methods=["GET", "POST"])
def activate():
    """The requester's binding request: enter the activation code, have another sent, or ask for a
    staff review instead."""
    req = binding.find(session.get(BINDING_KEY))
    if req is None:
        return render_template("portal/message.html", title=_("账号绑定"),
                               message=_("没有找到您的绑定申请，请重新注册或登录。"),
                               back=url_for(".register")), 404
    error, status = None, 200
    if request.method == "POST":
        action = request.form.get("action", "activate")
        try:
            if action == "resend":
                if binding.send_code(req):
                    flash(_("新的激活码已发送，之前的激活码不再有效。"), "success")
                else:
                    flash(_("激活码发送失败，请稍后重试，或申请人工审核。"), "error")
                return redirect(url_for(".activate"))
            if action == "review":
                binding.to_review(req)
                flash(_("已改为人工审核：工作人员核实后为您绑定，请留意。"), "info")
                return redirect(url_for(".activate"))
            account = binding.activate(req, request.form.get("activation_code", ""))
        except binding.Refused as e:
            error, status = str(e), 422
        else:
            session.pop(BINDING_KEY, None)
            target = _safe_next(session.pop(BINDING_NEXT, None))
            _sign_in(account)
            _audit(account.subject, f"applicant:{account.code}", "applicant.login", via="activation")
            flash(_("绑定成功，已登录。"), "success")
            return redirect(target or url_for(".cases"))
        req = binding.find(session.get(BINDING_KEY)) or req
    return render_template("portal/activate.html", req=req, error=error, max_codes=binding.MAX_CODES,
                           minutes=current_app.config["XINYIPI_ACTIVATION_MINUTES"]), status


def _sign_in(account, via: str = "password") -> None:
    """Start a server-side session for `account` in this browser (xinyipi's earlier session state
    goes; the language, the host's sign-in and a staff sign-in stay)."""
    login_manager().sign_in(APPLICANT, account, via)


@portal.route("/login", methods=["GET", "POST"])
def login():
    error, code, status = None, "", 200
    if request.method == "POST":
        code = (request.form.get("code") or "").strip()
        try:
            account = identity.authenticate(code, request.form.get("password") or "")
        except identity.Pending as e:
            session[BINDING_KEY] = e.token        # the same password: show the requester their request
            return redirect(url_for(".activate"))
        except identity.Refused as e:
            error, status = e.errors[""], 401
            subject = Subject.get_or_none(Subject.code == code.upper()) if len(code) <= 18 else None
            actor = f"applicant:{code[:18] or '?'}"
            _audit(subject, actor, "applicant.login_failed")
            if e.attempt is not None and e.attempt.locked_now:
                _audit(subject, actor, "applicant.locked", minutes=e.attempt.locked_minutes)
        else:
            _sign_in(account)
            _audit(account.subject, f"applicant:{account.code}", "applicant.login")
            return redirect(_safe_next(request.form.get("next")) or url_for(".cases"))
    return render_template("portal/login.html", error=error, code=code, oidc=_oidc_on(),
                           next=_safe_next(request.values.get("next")) or ""), status


@portal.post("/logout")
def logout():
    login_manager().sign_out(APPLICANT)
    flash(_("已退出登录。"), "info")
    return redirect(url_for(".index"))


@portal.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password: every session of the account ends (a copied cookie included) and this
    browser gets a new one."""
    account = current_account()
    errors, status = {}, 200
    if request.method == "POST":
        errors = account_ops.change_password(account, request.form.get("current", ""),
                                             request.form.get("password", ""), request.form.get("confirm", ""))
        if not errors:
            _sign_in(account)
            flash(_("密码已修改，其他设备上的登录已全部退出。"), "success")
            return redirect(url_for(".cases"))
        status = 422
    return render_template("portal/password.html", errors=errors, forced=account.must_change_password), status


def _oidc_on() -> bool:
    from plugin.identity import oidc
    return oidc.enabled()


OIDC_NEXT = "xinyipi_portal_oidc_next"


@portal.get("/oidc/login")
def oidc_login():
    """Sign-in through the unified identity provider (404 when it is not configured)."""
    from plugin.identity import oidc
    if not oidc.enabled():
        abort(404)
    session[OIDC_NEXT] = _safe_next(request.args.get("next")) or ""
    try:
        return oidc.begin(oidc.CITIZEN, url_for(".oidc_callback", _external=True))
    except oidc.Refused as e:
        return _oidc_refused(str(e))


@portal.get("/oidc/callback")
def oidc_callback():
    from plugin.identity import oidc
    if not oidc.enabled():
        abort(404)
    target = session.pop(OIDC_NEXT, "") or None
    try:
        account = oidc.citizen_account(oidc.finish(oidc.CITIZEN))
    except oidc.Refused as e:
        _audit(None, "applicant:?", "applicant.login_failed", via="oidc", reason=str(e)[:200])
        return _oidc_refused(str(e))
    _sign_in(account, via="oidc")
    _audit(account.subject, f"applicant:{account.code}", "applicant.login", via="oidc")
    return redirect(_safe_next(target) or url_for(".cases"))


def _oidc_refused(message: str):
    return render_template("portal/login.html", error=message, code="", oidc=True, next=""), 401


# ---------------------------------------------------------------------------------------------
# the matter guide
# ---------------------------------------------------------------------------------------------
@portal.get("/")
def index():
    q = (request.args.get("q") or "").strip()[:50]
    matters = service.published_matters(q)
    return render_template("portal/index.html", q=q, matters=matters)


@portal.get("/matters/<code>")
def matter(code):
    me = current_applicant()
    try:
        guide = service.matter_guide(code, me.code if me else None)
    except service.NotFound:
        abort(404)
    groups = guide.grouped()
    return render_template("portal/matter.html", guide=guide, groups=[(k, groups[k]) for k in GROUP_ORDER if k in groups],
                           repair=service.repair_matter(), labels=req.DISPOSITION_LABELS, lanes=LANES,
                           paths=PATHS)


@portal.post("/matters/<code>/apply")
@login_required
def apply(code):
    try:
        app = service.start_draft(code, current_applicant().code)
    except service.Closed as e:
        try:
            guide = service.matter_guide(code, current_applicant().code)
        except service.NotFound:
            abort(404)
        return render_template("portal/closed.html", guide=guide, closure=e.closure,
                               repair=service.repair_matter()), 403
    except service.NotFound:
        abort(404)
    except service.ApplicationError as e:
        return render_template("portal/message.html", title=_("暂不能申请"), message=str(e),
                               back=url_for(".matter", code=code)), 409
    return redirect(url_for(".draft", number=app.number))


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------
def _own(number: str):
    try:
        return service.get_for_applicant(number, current_applicant().code)
    except service.NotFound:
        abort(404)


@portal.get("/cases")
@login_required
def cases():
    rows = service.cases_of(current_applicant().code)
    return render_template("portal/cases.html", cases=rows, statuses=STATUSES, paths=PATHS,
                           today=progress.business_today(), local_time=progress.local_time)


def _upload_dir() -> str:
    return current_app.config["XINYIPI_UPLOAD_DIR"]


def _store_files(prefix: str, allowed: dict, app) -> tuple[dict, dict]:
    """Store the files sent as `<prefix><material code>` for case `app`, within the applicant's
    storage quota: (stored by code, errors by code)."""
    stored, errors = {}, {}
    sent = [(key[len(prefix):], upload) for key, upload in request.files.items(multi=True)
            if key.startswith(prefix) and upload and upload.filename]
    quota = materials.quota_for(current_applicant().id, current_app.config["XINYIPI_UPLOAD_QUOTA_MB"], app,
                                replacing=[code for code, _upload in sent if code in allowed])
    for code, upload in sent:
        if code not in allowed:
            errors[code] = _("本办件不需要这项材料")
            continue
        try:
            stored[code] = materials.store_file(upload.stream, upload.filename, _upload_dir(),
                                                current_app.config["XINYIPI_MAX_UPLOAD_MB"], allowed[code], quota)
        except ValueError as e:
            errors[code] = str(e)
    return stored, errors


@portal.route("/cases/<number>/draft", methods=["GET", "POST"])
@login_required
def draft(number):
    app = _own(number)
    if app.status != DRAFT:
        return redirect(url_for(".case", number=number))
    actor = _actor()
    try:
        dispositions = service.draft_requirements(app)
    except service.ApplicationError as e:
        return render_template("portal/message.html", title=_("暂不能申请"), message=str(e),
                               back=url_for(".cases")), 409
    field_errors, material_errors, alert, status = {}, {}, None, 200
    if request.method == "POST":
        action = request.form.get("action", "save")
        if action.startswith("remove:"):
            try:
                service.remove_draft_file(number, action[len("remove:"):], actor)
            except service.ApplicationError:
                return redirect(url_for(".case", number=number))
            flash(_("已删除该材料的文件。"), "info")
            return redirect(url_for(".draft", number=number) + "#materials")
        values = {f["id"]: request.form.get(f["id"], "") for f in service.draft_fields()}
        try:
            service.save_draft(number, values, actor)
            uploadable = {d.material_code: d.material_name for d in dispositions
                          if d.disposition not in (req.WAIVED, req.ELICENCE)}
            stored, material_errors = _store_files("file_", uploadable, app)
            for code, file in stored.items():
                try:
                    service.attach_draft_file(number, code, file, actor, dispositions)
                except materials.MaterialError as e:
                    material_errors.update(e.errors)
            if material_errors:
                alert, status = _("有文件未能保存，请按提示重新选择。其余内容已保存。"), 422
            elif action == "submit":
                app = service.submit_draft(number, actor)
                if app.status == "refused":
                    flash(_("申请未被受理，原因见下方。"), "error")
                elif app.status == APPROVED:
                    flash(_("申请已提交并获准予许可。"), "success")
                else:
                    flash(_("申请已提交，办件编号 %(number)s。", number=app.number), "success")
                return redirect(url_for(".case", number=number))
            else:
                flash(_("草稿已保存，下次可继续填写。"), "success")
                return redirect(url_for(".draft", number=number))
        except FormErrors as e:
            field_errors, status = e.errors, 422
            alert = _("申请未提交：请按提示修改。已填写的内容和已上传的文件均已保存。")
        except materials.MaterialError as e:
            material_errors.update(e.errors)
            status = 422
            alert = _("申请未提交：还有材料需要上传。已填写的内容和已上传的文件均已保存。")
        except service.Conflict:
            return redirect(url_for(".case", number=number))
        except service.ApplicationError as e:
            alert, status = str(e), 409
        app = _own(number)
        if app.status != DRAFT:
            return redirect(url_for(".case", number=number))
    files = materials.uploaded(app)
    return render_template("portal/draft.html", case=app, fields=service.draft_fields(), values=app.form_data or {},
                           field_errors=field_errors, material_errors=material_errors, alert=alert,
                           dispositions=dispositions, files=files, guide_path=_expected_path_label(app),
                           unverified=_unverified_path(app),
                           supplement_days=matter_facts(app.matter.code).supplement_days,
                           max_mb=current_app.config["XINYIPI_MAX_UPLOAD_MB"]), status


def _unverified_path(app) -> bool:
    from plugin.engine.paths import expected_path
    from plugin.identity.accounts import restricted
    return restricted(app.subject, expected_path(app.matter, app.tier_code))


def _expected_path_label(app):
    from plugin.engine.paths import expected_path
    return PATHS.get(expected_path(app.matter, app.tier_code))


@portal.post("/cases/<number>/discard")
@login_required
def discard(number):
    _own(number)
    try:
        service.discard_draft(number, _actor())
    except service.ApplicationError as e:
        flash(str(e), "error")
        return redirect(url_for(".case", number=number))
    flash(_("草稿已删除。"), "info")
    return redirect(url_for(".cases"))


def _repairable_records(app) -> list:
    """The applicant's own dishonesty records not yet repaired, for a credit-repair form."""
    from plugin.credit.models import DishonestyRecord
    return list(DishonestyRecord.select().where((DishonestyRecord.subject == app.subject_id)
                                                & DishonestyRecord.repaired_at.is_null())
                .order_by(DishonestyRecord.start.desc(), DishonestyRecord.id.desc()))


@portal.get("/cases/<number>")
@login_required
def case(number):
    try:
        file = service.case_file(number, _actor())
    except service.NotFound:
        abort(404)
    app = file.case
    if app.status == DRAFT:
        return redirect(url_for(".draft", number=number))
    return render_template(
        "portal/case.html", **file.fields(), lanes=LANES, paths=PATHS,
        decision_number=documents.decision_number(app) if app.status == APPROVED else None,
        final=app.status in FINAL, working_days=working_days_between, local_time=progress.local_time)


@portal.route("/cases/<number>/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(number, task_id):
    app = _own(number)
    tasks = [t for t in service.ready_tasks(app) if t["lane"] == "applicant"]
    found = next((t for t in tasks if t["id"] == task_id), None)
    if found is None:
        flash(_("这项任务已办理或已不需要办理。"), "info")
        return redirect(url_for(".case", number=number))
    actor = _actor()
    pending = service.pending_commitment(app, found)
    owed = [m for m in materials.materials_of(app) if m.state in (materials.OWED, materials.SUPPLIED)]
    supplement = pending is None and app.path == "tolerance" and bool(owed)
    values, errors, material_errors, alert, status = {}, {}, {}, None, 200
    if request.method == "POST":
        values = {f["id"]: request.form.get(f["id"]) for f in found["fields"] if not f["readonly"]}
        version = request.form.get("version", type=int)
        try:
            if supplement:
                stored, material_errors = _store_files("file_", {m.material_code: m.material_name for m in owed}, app)
                try:
                    service.complete_supplement(number, task_id, values, stored, actor, version)
                except materials.MaterialError as e:
                    material_errors = {**e.errors, **material_errors}
                    raise
                if material_errors:
                    raise materials.MaterialError(material_errors)
                flash(_("补正材料已提交，容缺受理办结。"), "success")
            else:
                service.complete_applicant_task(number, task_id, values, actor, version,
                                                shown_sha256=request.form.get("text_sha256"))
                if pending is not None:
                    flash(_("%(kind)s已签署。", kind=_(materials.COMMITMENT_KINDS[pending[0]])), "success")
                else:
                    flash(_("“%(task)s”已提交。", task=found["name"]), "success")
            return redirect(url_for(".case", number=number))
        except FormErrors as e:
            errors, status = e.errors, 422
            alert = _("未能提交：请按提示修改。")
        except materials.MaterialError as e:
            material_errors, status = {**e.errors, **material_errors}, 422
            alert = _("未能提交：还有材料需要补正。已上传的文件均已保存。")
        except service.CommitmentChanged as e:
            alert, status = str(e), 409
        except service.Conflict as e:
            alert, status = str(e), 409
        except service.ApplicationError as e:
            alert, status = str(e), 409
        app = _own(number)
        pending = service.pending_commitment(app, found)
        owed = [m for m in materials.materials_of(app) if m.state in (materials.OWED, materials.SUPPLIED)]
    return render_template(
        "portal/task.html", case=app, task=found, values=values, errors=errors, alert=alert,
        repair_records=_repairable_records(app) if any(f["id"] == "record_ids" for f in found["fields"]) else None,
        today=progress.business_today(),
        commitment=pending, commitment_kinds=materials.COMMITMENT_KINDS,
        text_sha256=materials.text_hash(pending[1]) if pending else None, supplement=supplement, owed=owed,
        material_errors=material_errors, supplement_due=service.supplement_deadline(app),
        max_mb=current_app.config["XINYIPI_MAX_UPLOAD_MB"]), status


# ---------------------------------------------------------------------------------------------
# files, PDFs, diagram
# ---------------------------------------------------------------------------------------------
@portal.get("/cases/<number>/files/<material_code>")
@login_required
def material_file(number, material_code):
    app = _own(number)
    row = next((m for m in materials.materials_of(app) if m.material_code == material_code and m.sha256), None)
    if row is None:
        abort(404)
    path = materials.blob_path(_upload_dir(), row.sha256)
    if not os.path.exists(path):
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename or row.sha256)


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    from urllib.parse import quote
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@portal.get("/cases/<number>/commitments/<rowid:commitment_id>.pdf")
@login_required
def commitment_pdf(number, commitment_id):
    app = _own(number)
    commitment = next((c for c in materials.commitments_of(app) if c.id == commitment_id), None)
    if commitment is None:
        abort(404)
    return _pdf(documents.commitment_pdf(app, commitment), f"{commitment.kind_label}-{app.number}.pdf")


@portal.get("/cases/<number>/decision.pdf")
@login_required
def decision_pdf(number):
    app = _own(number)
    if app.status != APPROVED:
        abort(404)
    decided = [o for o in service.opinions(app) if o["role"] == "approver"]
    return _pdf(documents.decision_pdf(app, opinion=decided[-1]["opinion"] if decided else None,
                                       path_label=PATH_DESCRIPTIONS.get(app.path or "")),
                f"准予许可决定书-{app.number}.pdf")


@portal.get("/cases/<number>/diagram.xml")
@login_required
def diagram_xml(number):
    xml = progress.process_xml(_own(number))
    if xml is None:
        abort(404)
    return diagram_response(xml, f"{number}.bpmn")
