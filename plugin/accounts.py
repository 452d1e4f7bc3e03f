"""Staff accounts and their roles. (Applicants log in with their subject code; see the portal.)"""
from __future__ import annotations

import peewee as pw
from werkzeug.security import check_password_hash, generate_password_hash

from plugin.db import BaseModel, now

ROLES = {
    "sysadmin": "系统管理员",
    "catalog_admin": "事项目录管理员",
    "process_designer": "流程设计人员",
    "reviewer": "审查人员",
    "approver": "审批负责人",
    "supervisor": "监管人员",
}


class StaffUser(BaseModel):
    username = pw.CharField(unique=True, max_length=64, verbose_name="用户名")
    name = pw.CharField(max_length=100, verbose_name="姓名")
    role = pw.CharField(max_length=32, choices=list(ROLES.items()), verbose_name="角色")
    department = pw.CharField(max_length=100, default="", verbose_name="部门")
    password_hash = pw.CharField(max_length=256, verbose_name="密码哈希")
    active = pw.BooleanField(default=True, verbose_name="启用")
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")
    last_login_at = pw.DateTimeField(null=True, verbose_name="最近登录")
    failed_logins = pw.IntegerField(default=0, verbose_name="连续登录失败次数")
    locked_until = pw.DateTimeField(null=True, verbose_name="锁定至")

    class Meta:
        table_name = "staff_user"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __str__(self):
        return f"{self.name}（{ROLES.get(self.role, self.role)}）"
