"""Who the applicant is: registration and sign-in with a subject code and a password.

An applicant signs in with the 统一社会信用代码 or 身份证号 of their credit subject. Registering a
code that the credit subject library does not hold yet creates the subject (source “自主注册”, no
imported tier, so its effective tier is the active scheme's default until the credit platform's
next import rates it); a code the library holds must come with the name it is registered under.
Five wrong passwords lock the account for 15 minutes, as for staff.
"""
from __future__ import annotations


from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import Subject
from plugin.db import database
from plugin.i18n import _
from plugin.portal.models import ApplicantAccount

SELF_REGISTERED = "自主注册"


class Refused(ValueError):
    """Registration or sign-in refused: `errors` maps a form field (or "") to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = errors


def _reason(error: InvalidCode) -> str:
    """The failed rule, in the page's language (the validator says it in Chinese and in English)."""
    from flask_babel import get_locale
    return error.english if str(get_locale() or "").startswith("en") else str(error)


def check_password_rules(password: str) -> str | None:
    if len(password) < 8:
        return _("密码至少 8 位")
    if len(password) > 128:
        return _("密码最多 128 位")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        return _("密码须同时包含字母和数字")
    return None


def register(code: str, name: str, password: str, confirm: str) -> tuple[ApplicantAccount, bool]:
    """Create an applicant account; returns it and whether a new credit subject was created."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    kind = None
    try:
        code, kind = validate_subject_code(code or "")
    except InvalidCode as e:
        errors["code"] = _("证件号码无效：%(reason)s", reason=_reason(e))
    if not name:
        errors["name"] = _("请填写名称或姓名")
    elif len(name) > 200:
        errors["name"] = _("名称或姓名最多 200 个字")
    problem = check_password_rules(password or "")
    if problem:
        errors["password"] = problem
    elif password != confirm:
        errors["confirm"] = _("两次输入的密码不一致")
    subject = None
    if "code" not in errors:
        if ApplicantAccount.select().where(ApplicantAccount.code == code).exists():
            errors["code"] = _("该证件号码已注册，请直接登录")
        else:
            subject = Subject.get_or_none(Subject.code == code)
            if subject is not None and name and subject.name != name:
                errors["name"] = _("名称与信用主体库中登记的名称不一致，请填写登记名称（营业执照或身份证上的名称）")
    if errors:
        raise Refused(errors)
    created = subject is None
    with database.atomic():
        if created:
            subject = Subject.create(code=code, name=name, kind=kind, tier=None, source=SELF_REGISTERED,
                                     tier_updated_at=None)
        account = ApplicantAccount(subject=subject, code=code)
        account.set_password(password)
        account.save()
    return account, created


def authenticate(code: str, password: str) -> ApplicantAccount:
    """The account for `code` when `password` is right; Refused otherwise (locking after repeated failures)."""
    try:
        code = validate_subject_code(code or "")[0]
    except InvalidCode:
        raise Refused({"": _("证件号码或密码不正确。")}) from None
    account = ApplicantAccount.get_or_none(ApplicantAccount.code == code)
    if account is None or not account.active:
        raise Refused({"": _("证件号码或密码不正确。")})
    signed_in, locked_minutes = account.sign_in(password or "")
    if locked_minutes:
        raise Refused({"": _("密码错误次数过多，账号已锁定，请 %(minutes)s 分钟后再试。", minutes=locked_minutes)})
    if not signed_in:
        raise Refused({"": _("证件号码或密码不正确。")})
    return account
