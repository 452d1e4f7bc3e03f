"""Applicant accounts (申请人账号): a subject code and a password, apart from staff sign-in."""
from __future__ import annotations

import peewee as pw

from plugin.accounts import PasswordAccount
from plugin.credit.models import Subject
from plugin.db import now


class ApplicantAccount(PasswordAccount):
    """An applicant who signs in to the portal with the code of their credit subject."""

    subject = pw.ForeignKeyField(Subject, unique=True, backref="accounts", on_delete="RESTRICT",
                                 verbose_name="信用主体")
    code = pw.CharField(unique=True, max_length=18, verbose_name="统一社会信用代码/身份证号")
    active = pw.BooleanField(default=True, verbose_name="启用")
    created_at = pw.DateTimeField(default=now, verbose_name="注册时间")

    class Meta:
        table_name = "applicant_account"

    def __str__(self):
        return self.code
