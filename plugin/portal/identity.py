"""Who the applicant is: registration and sign-in with a subject code and a password.

An applicant signs in with the 统一社会信用代码 or 身份证号 of their credit subject.

- A code the credit library holds must come with the name it is registered under, and that is not
  proof (both are public): registering makes a binding request (`plugin.identity.binding`) that
  becomes an account only with the activation code sent to the subject's contact, or after a staff
  review. Nothing is bound before then, so a stranger's request blocks nobody.
- A code the library does not know yet creates the subject (source “自主注册”, no imported tier, so
  its effective tier is the active scheme's default until the credit platform's next import rates
  it) and an account at once, marked unverified: it cannot take the commitment (告知承诺) or tolerance
  (容缺受理) paths until staff verify it (or the applicant signs in through the identity provider).

Five wrong passwords in a row from one client lock that client out for 15 minutes, as for staff.
"""
from __future__ import annotations


import dataclasses

from werkzeug.security import generate_password_hash

from plugin.accounts import Attempt
from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit import subjects
from plugin.credit.models import Subject
from plugin.i18n import _
from plugin.identity import binding
from plugin.identity.accounts import SELF_REGISTERED, check_password_rules
from plugin.portal.models import ApplicantAccount
from plugin.work import Actor, unit_of_work


class Refused(ValueError):
    """Registration or sign-in refused: `errors` maps a form field (or "") to a message."""

    def __init__(self, errors: dict[str, str], attempt: Attempt | None = None):
        super().__init__("；".join(errors.values()))
        self.errors = errors
        self.attempt = attempt


def _reason(error: InvalidCode) -> str:
    """The failed rule, in the page's language (the validator says it in Chinese and in English)."""
    from flask_babel import get_locale
    return error.english if str(get_locale() or "").startswith("en") else str(error)


@dataclasses.dataclass
class Registration:
    """What a registration came to: an account (self-registered, unverified), or a binding request
    waiting for its proof (`token` goes into the requester's session)."""

    account: ApplicantAccount | None = None
    created: bool = False                  # a new subject was filed (self-registration)
    request: object = None                 # BindingRequest
    token: str | None = None


def register(code: str, name: str, password: str, confirm: str, ip: str = "") -> Registration:
    """Register `code`: an unverified account for a code new to the library, or a binding request for
    a subject the library holds."""
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
            known = subject is not None and subject.source != SELF_REGISTERED
            if known and name and subject.name != name:
                errors["name"] = _("名称与信用主体库中登记的名称不一致，请填写登记名称（营业执照或身份证上的名称）")
    if errors:
        raise Refused(errors)
    if subject is not None and subject.source != SELF_REGISTERED:
        try:
            req, token = binding.request_binding(subject, name, generate_password_hash(password), ip)
        except binding.Refused as e:
            raise Refused({"": str(e)}) from None
        return Registration(request=req, token=token)
    with unit_of_work(Actor.applicant(code, name), "register"):
        # a new code is filed as a subject; a self-registered code nobody holds any more (its account
        # was unbound) takes the new registrant's name
        subject, created = subjects.register(Actor.applicant(code, name), code, name, kind, SELF_REGISTERED)
        account = ApplicantAccount(subject=subject, code=code)
        account.set_password(password)
        account.save()
    return Registration(account=account, created=created)


def authenticate(code: str, password: str, client: str | None = None) -> ApplicantAccount:
    """The account for `code` when `password` is right; Refused otherwise (locking the client out after
    repeated failures). `client` is the counter the attempt goes to (a recognised browser or an IP
    address, see `plugin.identity.devices`); `Refused.attempt` says what the attempt came to."""
    try:
        code = validate_subject_code(code or "")[0]
    except InvalidCode:
        raise Refused({"": _("证件号码或密码不正确。")}) from None
    account = ApplicantAccount.get_or_none(ApplicantAccount.code == code)
    if account is None:
        _pending(code, password)
        raise Refused({"": _("证件号码或密码不正确。")})
    if not account.active:
        raise Refused({"": _("证件号码或密码不正确。")})
    if client is None:
        from plugin.identity import devices
        client = devices.client_key("applicant", account.id)
    attempt = account.sign_in(password or "", client)
    if attempt.locked_minutes:
        raise Refused({"": _("密码错误次数过多，账号已锁定，请 %(minutes)s 分钟后再试。", minutes=attempt.locked_minutes)},
                      attempt)
    if not attempt.ok:
        raise Refused({"": _("证件号码或密码不正确。")}, attempt)
    return account


class Pending(Exception):
    """The code has no account yet, but a binding request of this requester (same password) waits."""

    def __init__(self, request, token: str):
        super().__init__(request.status)
        self.request, self.token = request, token


def _pending(code: str, password: str) -> None:
    for req in binding.open_requests(code):
        if req.password_hash and _password_matches(req.password_hash, password):
            raise Pending(req, binding.new_token(req))


def _password_matches(password_hash: str, password: str) -> bool:
    from werkzeug.security import check_password_hash
    return check_password_hash(password_hash, password or "")
