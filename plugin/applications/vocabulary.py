"""The words of a case, defined once (DESIGN §4): the handling paths a diagram sets, and the audit
actions a case's record is made of, as staff and as applicants read them.

Every page, document and export takes its labels from here; nothing else keeps a copy.
"""
from __future__ import annotations

from plugin.engine.scripting import PATHS as PATH_CODES
from plugin.i18n import _l

#: The handling paths a diagram sets in `path` (bpmn/README.md §2.3), short: lists, filters, badges.
PATHS = {"instant": _l("秒批"), "tolerance": _l("容缺受理"), "commitment": _l("告知承诺"),
         "standard": _l("标准审批"), "repair": _l("信用修复")}

#: The same paths explained in a phrase, as the decision document (准予许可决定书, always Chinese)
#: words the way the case was handled.
PATH_DESCRIPTIONS = {"instant": "秒批（即报即批，无需人工审查）", "tolerance": "容缺受理（次要材料可后补）",
                     "commitment": "告知承诺（以承诺替代证明材料）", "standard": "标准审批（受理、审查、决定）",
                     "repair": "信用修复"}

assert tuple(PATHS) == PATH_CODES and tuple(PATH_DESCRIPTIONS) == PATH_CODES, "a path the engine knows has no words"


def path_label(path: str | None) -> str:
    """The short label of a path ('' for none; the code itself for a path we have no words for)."""
    return str(PATHS.get(path, path or ""))


#: Audit actions as staff read them: the case page's record and the audit log (审计日志), which also
#: holds the actions that are not about one case (sign-ins, inspection draws).
ACTIONS = {
    "submitted": _l("提交申请"), "accepted": _l("受理"), "refused": _l("不予受理"),
    "process_started": _l("启动流程"), "task_completed": _l("办理任务"), "timer_fired": _l("期限届满"),
    "breach": _l("违约撤销"), "staff.login": _l("工作人员登录"), "staff.login_failed": _l("工作人员登录失败"),
    "staff.logout": _l("工作人员退出"), "task_claimed": _l("认领任务"), "task_released": _l("释放任务"),
    "revoked": _l("撤销许可"), "dishonesty_recorded": _l("记录失信"), "tier_changed": _l("信用等级变动"),
    "verification_opened": _l("开启告知承诺核查"), "verification_passed": _l("告知承诺核查合格"),
    "verification_failed": _l("告知承诺核查不合格"), "inspection_drawn": _l("抽中双随机抽查"),
    "inspection_passed": _l("双随机抽查合格"), "inspection_failed": _l("双随机抽查不合格"),
    "records_repaired": _l("失信记录已修复"), "draft_created": _l("创建申请草稿"), "draft_discarded": _l("删除申请草稿"),
    "inspection.preview": _l("预览双随机抽取"), "inspection.draw": _l("双随机抽取"),
}

#: Where the applicant's own case page words an action otherwise: it says what happened to them.
APPLICANT_WORDING = {
    "accepted": _l("信用核查通过，受理"), "process_started": _l("进入办理流程"),
    "breach": _l("容缺材料逾期未补正，构成违约"), "dishonesty_recorded": _l("记入失信记录"),
    "verification_opened": _l("开始告知承诺核查"), "inspection_drawn": _l("被抽中双随机抽查"),
}

#: Staff-internal steps the applicant's record leaves out (who holds a task is not their concern).
INTERNAL_ACTIONS = frozenset({"task_claimed", "task_released"})


def action_label(action: str, applicant: bool = False) -> str:
    """How staff (or, with `applicant`, the applicant) read an audit action; its code when unknown."""
    if applicant and action in APPLICANT_WORDING:
        return str(APPLICANT_WORDING[action])
    return str(ACTIONS.get(action, action))
