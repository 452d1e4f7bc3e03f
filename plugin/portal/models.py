"""Applicant accounts (申请人账号): a subject code and a password, apart from staff sign-in."""
from __future__ import annotations

import peewee as pw
from werkzeug.security import check_password_hash, generate_password_hash

from plugin.credit.models import Subject
from plugin.db import BaseModel, now


class ApplicantAccount(BaseModel):
    """An applicant who signs in to the portal with the code of their credit subject."""

    subject = pw.ForeignKeyField(Subject, unique=True, backref="accounts", on_delete="RESTRICT",
                                 verbose_name="信用主体")
    code = pw.CharField(unique=True, max_length=18, verbose_name="统一社会信用代码/身份证号")
    password_hash = pw.CharField(max_length=256, verbose_name="密码哈希")
    active = pw.BooleanField(default=True, verbose_name="启用")
    created_at = pw.DateTimeField(default=now, verbose_name="注册时间")
    last_login_at = pw.DateTimeField(null=True, verbose_name="最近登录")
    failed_logins = pw.IntegerField(default=0, verbose_name="连续登录失败次数")
    locked_until = pw.DateTimeField(null=True, verbose_name="锁定至")

    class Meta:
        table_name = "applicant_account"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __str__(self):
        return self.code
