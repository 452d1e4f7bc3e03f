"""Who does what, named once: the staff roles and the lanes of a diagram.

A diagram's lanes name roles (DESIGN §3.6): a user task in lane ``applicant`` is the applicant's,
one in ``reviewer``, ``approver`` or ``supervisor`` is for staff of that role within the matter's
department. The staff accounts (`plugin.accounts`), the admin's access rules (`admin.auth`), the
validator (`plugin.engine.validate`) and the pages all read these names from here.

Labels are the Chinese source strings; pages show them through ``_()`` / ``_t()`` (the English
catalog holds them: they are the staff model's role choices).
"""
from __future__ import annotations

SYSADMIN = "sysadmin"
CATALOG_ADMIN = "catalog_admin"
PROCESS_DESIGNER = "process_designer"
REVIEWER = "reviewer"
APPROVER = "approver"
SUPERVISOR = "supervisor"

#: Every staff role and its label.
ROLES = {
    SYSADMIN: "系统管理员",
    CATALOG_ADMIN: "事项目录管理员",
    PROCESS_DESIGNER: "流程设计人员",
    REVIEWER: "审查人员",
    APPROVER: "审批负责人",
    SUPERVISOR: "监管人员",
}
ALL_STAFF = frozenset(ROLES)

#: The lane of the applicant's own tasks.
APPLICANT = "applicant"
#: The staff roles that work the tasks of a lane of their own name.
STAFF_LANES = (REVIEWER, APPROVER, SUPERVISOR)
CASE_WORKERS = frozenset(STAFF_LANES)
#: Every lane a user task may sit in, and its label.
LANES = {APPLICANT: "申请人", **{role: ROLES[role] for role in STAFF_LANES}}
