"""The identity tables: applicant accounts, sign-in sessions, sign-in guards, binding requests.

Their DDL is stated once more, frozen, in `plugin.migrations.m0008_identity`; a change here needs a
new migration.
"""
from __future__ import annotations

import peewee as pw

from plugin.accounts import PasswordAccount
from plugin.credit.models import Subject
from plugin.db import BaseModel, now

STAFF, APPLICANT = "staff", "applicant"
ACCOUNT_KINDS = ((STAFF, "工作人员"), (APPLICANT, "申请人"))


class SignInSession(BaseModel):
    """One signed-in browser. The cookie carries a random token; only its SHA-256 is kept here, so
    the table cannot be used to sign in. A session ends at sign-out, idle expiry, a password change,
    or when staff disable, reset or unbind the account; an ended session is never alive again."""

    token_hash = pw.CharField(max_length=64, unique=True, verbose_name="令牌摘要")
    kind = pw.CharField(max_length=16, choices=ACCOUNT_KINDS, verbose_name="账号类型")
    account_id = pw.IntegerField(verbose_name="账号")
    credential = pw.CharField(max_length=64, verbose_name="密码指纹")
    ip = pw.CharField(max_length=64, default="", verbose_name="登录地址")
    via = pw.CharField(max_length=16, default="password", verbose_name="登录方式")
    created_at = pw.DateTimeField(default=now, verbose_name="登录时间")
    seen_at = pw.DateTimeField(default=now, verbose_name="最近活动")
    ended_at = pw.DateTimeField(null=True, verbose_name="结束时间")
    end_reason = pw.CharField(max_length=32, null=True, verbose_name="结束原因")

    class Meta:
        table_name = "sign_in_session"
        indexes = ((("kind", "account_id"), False),)


class SignInGuard(BaseModel):
    """Wrong passwords in a row for one account from one client (a recognised browser, or else an
    IP address), and the lock that follows them. A stranger's guesses lock out only the stranger."""

    kind = pw.CharField(max_length=16, choices=ACCOUNT_KINDS, verbose_name="账号类型")
    account_id = pw.IntegerField(verbose_name="账号")
    client = pw.CharField(max_length=100, verbose_name="客户端")
    failed_logins = pw.IntegerField(default=0, verbose_name="连续登录失败次数")
    locked_until = pw.DateTimeField(null=True, verbose_name="锁定至")
    updated_at = pw.DateTimeField(default=now, verbose_name="更新时间")

    class Meta:
        table_name = "sign_in_guard"
        indexes = ((("kind", "account_id", "client"), True),)


CODE_SENT, REVIEW, BOUND, REJECTED, SUPERSEDED = "code_sent", "review", "bound", "rejected", "superseded"
BINDING_STATUSES = {CODE_SENT: "待输入激活码", REVIEW: "待人工审核", BOUND: "已绑定", REJECTED: "已驳回",
                    SUPERSEDED: "已失效（主体已由他人绑定）"}


class BindingRequest(BaseModel):
    """A request to bind a portal account to a credit subject of the library. It becomes an account
    only when proven: the activation code sent to the subject's contact, or a staff review. Several
    requests for one subject may wait at once (a stranger's request blocks nobody); the first one
    proven binds and the others lapse."""

    token_hash = pw.CharField(max_length=64, unique=True, verbose_name="申请凭据摘要")
    subject = pw.ForeignKeyField(Subject, backref="binding_requests", on_delete="RESTRICT", verbose_name="信用主体")
    code = pw.CharField(max_length=18, index=True, verbose_name="统一社会信用代码/身份证号")
    name = pw.CharField(max_length=200, verbose_name="申请时填写的名称")
    password_hash = pw.CharField(max_length=256, verbose_name="密码哈希")
    status = pw.CharField(max_length=16, index=True, choices=list(BINDING_STATUSES.items()), verbose_name="状态")
    contact = pw.CharField(max_length=200, default="", verbose_name="激活码发送至")
    activation_hash = pw.CharField(max_length=64, null=True, verbose_name="激活码摘要")
    activation_expires_at = pw.DateTimeField(null=True, verbose_name="激活码有效期至")
    activation_attempts = pw.IntegerField(default=0, verbose_name="激活码尝试次数")
    codes_sent = pw.IntegerField(default=0, verbose_name="已发送激活码次数")
    ip = pw.CharField(max_length=64, default="", verbose_name="申请地址")
    created_at = pw.DateTimeField(default=now, verbose_name="申请时间")
    decided_at = pw.DateTimeField(null=True, verbose_name="处理时间")
    decided_by = pw.CharField(max_length=100, null=True, verbose_name="处理人")
    note = pw.TextField(default="", verbose_name="说明")

    class Meta:
        table_name = "binding_request"

    @property
    def status_label(self) -> str:
        return BINDING_STATUSES.get(self.status, self.status)

    def __str__(self):
        return f"{self.code}（{self.status_label}）"


class ApplicantAccount(PasswordAccount):
    """An applicant who signs in to the portal with the code of their credit subject.

    `verified_at` says the account holder proved to be the subject: by an activation code sent to
    the contact the credit library holds, by a staff review, or through the unified identity
    provider (`verified_via`: activation / staff:<username> / oidc). A self-registered code (one the
    library did not know) stays unverified until staff verify it: it cannot take the commitment (告知
    承诺) or tolerance (容缺受理) paths meanwhile (`plugin.identity.accounts`)."""

    ACCOUNT_KIND = "applicant"

    subject = pw.ForeignKeyField(Subject, unique=True, backref="accounts", on_delete="RESTRICT",
                                 verbose_name="信用主体")
    code = pw.CharField(unique=True, max_length=18, verbose_name="统一社会信用代码/身份证号")
    active = pw.BooleanField(default=True, verbose_name="启用")
    created_at = pw.DateTimeField(default=now, verbose_name="注册时间")
    verified_at = pw.DateTimeField(null=True, verbose_name="身份核验时间")
    verified_via = pw.CharField(max_length=100, null=True, verbose_name="核验方式")
    must_change_password = pw.BooleanField(default=False, verbose_name="须修改密码")

    class Meta:
        table_name = "applicant_account"

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    def __str__(self):
        return self.code
