"""Applicant accounts (申请人账号): a subject code and a password, apart from staff sign-in."""
from __future__ import annotations

import peewee as pw

from plugin.accounts import PasswordAccount
from plugin.credit.models import Subject
from plugin.db import now


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
