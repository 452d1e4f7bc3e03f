"""Staff accounts and their roles. (Applicants log in with their subject code; see the portal.)"""
from __future__ import annotations

import datetime as _dt
import secrets

import peewee as pw
from werkzeug.security import check_password_hash, generate_password_hash

from plugin.db import BaseModel, now

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15

ROLES = {
    "sysadmin": "系统管理员",
    "catalog_admin": "事项目录管理员",
    "process_designer": "流程设计人员",
    "reviewer": "审查人员",
    "approver": "审批负责人",
    "supervisor": "监管人员",
}


class PasswordAccount(BaseModel):
    """What staff and applicant accounts share: a hashed password, and the lock that follows five
    wrong passwords in a row (15 minutes)."""

    password_hash = pw.CharField(max_length=256, verbose_name="密码哈希")
    last_login_at = pw.DateTimeField(null=True, verbose_name="最近登录")
    failed_logins = pw.IntegerField(default=0, verbose_name="连续登录失败次数")
    locked_until = pw.DateTimeField(null=True, verbose_name="锁定至")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def sign_in(self, password: str) -> tuple[bool, int | None]:
        """Try `password`: (signed in, minutes locked). A wrong password counts towards the lock;
        a right one while locked is refused too. Saves the counters."""
        moment = now()
        if self.locked_until and self.locked_until > moment:
            return False, max(1, int((self.locked_until - moment).total_seconds() // 60) + 1)
        cls = type(self)
        if not self.check_password(password):
            self.failed_logins += 1
            locked = None
            if self.failed_logins >= MAX_FAILED_LOGINS:
                self.locked_until = moment + _dt.timedelta(minutes=LOCK_MINUTES)
                self.failed_logins, locked = 0, LOCK_MINUTES
            self.save(only=[cls.failed_logins, cls.locked_until])
            return False, locked
        self.failed_logins, self.locked_until, self.last_login_at = 0, None, moment
        self.save(only=[cls.failed_logins, cls.locked_until, cls.last_login_at])
        return True, None


class StaffUser(PasswordAccount):
    username = pw.CharField(unique=True, max_length=64, verbose_name="用户名")
    name = pw.CharField(max_length=100, verbose_name="姓名")
    role = pw.CharField(max_length=32, choices=list(ROLES.items()), verbose_name="角色")
    department = pw.CharField(max_length=100, default="", verbose_name="部门")
    active = pw.BooleanField(default=True, verbose_name="启用")
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")

    class Meta:
        table_name = "staff_user"

    def __str__(self):
        return f"{self.name}（{ROLES.get(self.role, self.role)}）"


FIRST_SYSADMIN = "sysadmin"


def create_first_sysadmin() -> str | None:
    """On a database without any staff account: create the system administrator `FIRST_SYSADMIN`
    with a generated password and return that password (to be shown once; only its hash is
    stored). None when there are staff accounts already (nothing is created)."""
    from plugin.db import database
    if StaffUser.select().exists():
        return None
    password = secrets.token_urlsafe(15)            # 20 characters, 120 bits
    user = StaffUser(username=FIRST_SYSADMIN, name="系统管理员", role="sysadmin", department="")
    user.set_password(password)
    try:
        with database.atomic():
            if StaffUser.select().exists():       # another `init` was quicker
                return None
            user.save()
    except pw.IntegrityError:
        return None
    return password
