"""Applicant accounts (申请人账号) and binding requests (账号绑定审核) in the admin.

Thin views: every action goes through `plugin.identity.accounts` or `plugin.identity.binding`, which
write the change, end the sessions it must end and audit it in one transaction. Catalog
administrators (who keep the credit subjects) and system administrators see and act.
"""
from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from markupsafe import Markup

from admin.auth import CATALOG_ADMIN, current_staff
from admin.views import SYSTEM, XinYiPiModelView
from plugin.i18n import _, _l
from plugin.identity import accounts as ops
from plugin.identity import binding
from plugin.identity.models import BINDING_STATUSES, REVIEW, BindingRequest
from plugin.identity.models import ApplicantAccount

ACCOUNT_ADMINS = frozenset({CATALOG_ADMIN})


def _actor() -> str:
    user = current_staff()
    return f"staff:{user.username}" if user else "staff:?"


def _subject_name(view, context, model, name):
    return model.subject.name


def _verified(view, context, model, name):
    if model.verified_at is None:
        return Markup('<strong class="text-warning">%s</strong>') % _("未核验")
    return _("已核验（%(via)s）", via=_via_label(model.verified_via))


def _via_label(via: str | None) -> str:
    if via == "activation":
        return _("激活码")
    if via == "oidc":
        return _("统一身份认证")
    if via and via.startswith(("staff:", "cli:")):
        return _("工作人员 %(who)s", who=via.split(":", 1)[1])
    return via or "—"


class ApplicantAccountView(XinYiPiModelView):
    """申请人账号: disable, enable, unbind, reset and verify (each audited as account.*)."""

    roles = write_roles = ACCOUNT_ADMINS
    allow_create = allow_edit = allow_delete = False
    column_list = ("code", "subject_name", "active", "verified", "must_change_password", "last_login_at",
                   "created_at")
    column_formatters = {"subject_name": _subject_name, "verified": _verified}
    extra_labels = {"subject_name": _l("名称"), "verified": _l("身份核验")}
    column_searchable_list = ("code",)
    column_filters = ("active", "verified_at", "must_change_password")
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "code", "created_at", "last_login_at")
    column_details_list = ("code", "subject", "active", "verified_at", "verified_via", "must_change_password",
                           "last_login_at", "created_at")

    def get_query(self):
        from plugin.credit.models import Subject
        return ApplicantAccount.select(ApplicantAccount, Subject).join(Subject)

    def _each(self, ids, work) -> int:
        done = 0
        for account in ApplicantAccount.select().where(ApplicantAccount.id.in_([int(i) for i in ids])):
            done += 1 if work(account) is not False else 0
        return done

    @action("disable", _l("停用"), _l("停用后该账号不能登录，已登录的会话立即失效。确定吗？"))
    def action_disable(self, ids):
        n = self._each(ids, lambda a: ops.disable(a, _actor()) if a.active else False)
        flash(_("已停用 %(n)s 个账号，其登录会话已全部失效。", n=n), "success")

    @action("enable", _l("启用"))
    def action_enable(self, ids):
        n = self._each(ids, lambda a: ops.enable(a, _actor()) if not a.active else False)
        flash(_("已启用 %(n)s 个账号。", n=n), "success")

    @action("unbind", _l("解除绑定"),
            _l("解除绑定将删除该账号（信用主体和办件保留），其登录会话立即失效，该证件号码可重新注册绑定。确定吗？"))
    def action_unbind(self, ids):
        n = self._each(ids, lambda a: ops.unbind(a, _actor()))
        flash(_("已解除 %(n)s 个账号的绑定。", n=n), "success")

    @action("reset", _l("重置密码"),
            _l("将为所选账号生成临时密码（只显示这一次），清除登录锁定并使其全部会话失效。请核验申请人身份后告知。确定吗？"))
    def action_reset(self, ids):
        def reset(account):
            temporary = ops.reset(account, _actor())
            flash(_("账号 %(code)s 的临时密码：%(password)s（只显示这一次，申请人登录后须立即修改）",
                    code=account.code, password=temporary), "warning")
        self._each(ids, reset)

    @action("verify", _l("核验身份"), _l("确认已查验到场申请人的营业执照或身份证原件，且其就是该账号的持有人（能登录该账号）？核验后可适用告知承诺和容缺受理。如持有人另有其人，请改为解除绑定。"))
    def action_verify(self, ids):
        n = self._each(ids, lambda a: ops.verify(a, _actor()))
        flash(_("已核验 %(n)s 个账号的身份。", n=n), "success")


def _status(view, context, model, name):
    label = _(BINDING_STATUSES.get(model.status, model.status))
    return Markup("<strong>%s</strong>") % label if model.status == REVIEW else label


class BindingRequestView(XinYiPiModelView):
    """账号绑定审核: approve or reject the requests waiting for a staff review (audited as binding.*)."""

    roles = write_roles = ACCOUNT_ADMINS
    allow_create = allow_edit = allow_delete = False
    column_list = ("code", "name", "status", "contact", "codes_sent", "ip", "created_at", "decided_by",
                   "decided_at")
    column_formatters = {"status": _status}
    column_searchable_list = ("code",)
    column_filters = ("status", "created_at")
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "code", "status", "created_at")
    column_details_list = ("code", "name", "subject", "status", "contact", "codes_sent", "activation_attempts",
                           "ip", "created_at", "decided_by", "decided_at", "note")

    def _decide(self, ids, work, done_message):
        done = 0
        for request_id in ids:
            try:
                work(int(request_id))
                done += 1
            except binding.Refused as e:
                flash(str(e), "error")
        if done:
            flash(done_message % {"n": done}, "success")

    @action("approve", _l("审核通过并绑定"),
            _l("确认已核实申请人就是该信用主体（查验营业执照或身份证原件、授权书）？通过后立即绑定账号，并通知主体登记的联系方式。"))
    def action_approve(self, ids):
        self._decide(ids, lambda i: binding.approve(i, _actor()), _("已通过 %(n)s 项绑定申请。"))

    @action("reject", _l("驳回"), _l("确定驳回所选绑定申请吗？"))
    def action_reject(self, ids):
        self._decide(ids, lambda i: binding.reject(i, _actor(), _("工作人员审核未通过")),
                     _("已驳回 %(n)s 项绑定申请。"))


def register(admin) -> None:
    admin.add_view(ApplicantAccountView(ApplicantAccount, name=_l("申请人账号"), category=SYSTEM,
                                        endpoint="xinyipi_applicant_account"))
    admin.add_view(BindingRequestView(BindingRequest, name=_l("账号绑定审核"), category=SYSTEM,
                                      endpoint="xinyipi_binding_request"))
