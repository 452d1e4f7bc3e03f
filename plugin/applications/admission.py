"""What the plugin checks before a case may be opened, whatever the diagram says (DESIGN §3.7): a
valid applicant code, a published matter with a process, the applicant's credit (逢报必查: the
effective tier, computed in one place and snapshotted), and, for the paths that act on the
applicant's word, a verified identity. The negative list is `plugin.catalog.negative_list`.
"""
from __future__ import annotations

import datetime as _dt

from plugin.applications.errors import ApplicationError, NotFound, Unverified
from plugin.catalog.facts import matter_facts
from plugin.catalog.models import MATTER_STATUSES, PUBLISHED
from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.tiers import active_scheme_info, effective_tier, subject_with_records


def valid_code(applicant_code: str) -> str:
    """The applicant's code, normalised, or ApplicationError naming the rule it fails."""
    try:
        return validate_subject_code(applicant_code)[0]
    except InvalidCode as e:
        raise ApplicationError(f"申请人证件号码无效：{e}") from None


def open_facts(matter_code: str):
    """The catalog facts of a matter that takes applications now: published, with a process."""
    facts = matter_facts(matter_code)
    if facts is None:
        raise NotFound(f"事项 {matter_code} 不存在")
    if facts.status != PUBLISHED:
        raise ApplicationError(f"事项“{facts.name}”未发布（状态：{dict(MATTER_STATUSES)[facts.status]}），暂不受理")
    if facts.process_id is None:
        raise ApplicationError(f"事项“{facts.name}”尚未绑定办理流程，暂不受理")
    return facts


def credit(code: str, today: _dt.date):
    """(subject, effective tier today under the active scheme); NotFound for a code the credit
    library does not hold."""
    subject, records = subject_with_records(code, today)
    if subject is None:
        raise NotFound(f"申请人 {code} 不在信用主体库中，请先完成身份核验")
    return subject, effective_tier(subject, today, scheme=active_scheme_info(), records=records)


def check_identity(subject, path: str | None) -> None:
    """An applicant whose identity is not verified (a self-registered code) cannot take the
    commitment (告知承诺) or tolerance (容缺受理) paths: both let them act on their word. Refused with
    nothing saved, whatever the diagram decided."""
    from plugin.identity.accounts import restricted
    if restricted(subject, path):
        from plugin.i18n import _
        names = {"commitment": _("告知承诺"), "tolerance": _("容缺受理")}
        raise Unverified(_("您的身份尚未核验（自主注册的证件号码），不能适用%(path)s，本次申请未提交，已填写的内容和材料均已保存。"
                           "请携带营业执照或身份证到办事窗口核验身份，或通过统一身份认证登录后再提交。",
                           path=names.get(path, path)))
