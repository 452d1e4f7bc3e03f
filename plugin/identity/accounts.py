"""What staff do to applicant accounts, and whether an applicant's identity is verified.

Each operation runs in one transaction with its audit row (``account.disable``, ``account.enable``,
``account.unbind``, ``account.reset``, ``account.verify``, actor ``staff:<username>`` or the CLI's
``--by``), and disable, unbind and reset end every session of the account on the server.

- **disable / enable**: a disabled account cannot sign in (password or identity provider);
- **unbind**: the account is deleted, the subject and its cases stay; the code can be registered
  again (with proof, as any other);
- **reset**: a temporary password (shown once to the staff member, who hands it over after checking
  the applicant's papers), every lock cleared, and the applicant must choose a new password at the
  next sign-in;
- **verify**: staff checked the papers of a self-registered (or pre-0008) account: it may take the
  commitment and tolerance paths from now on.
"""
from __future__ import annotations

import secrets

from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import Subject
from plugin.db import now, write_transaction
from plugin.i18n import _
from plugin.identity import sessions
from plugin.identity.models import ApplicantAccount

SELF_REGISTERED = "自主注册"
#: the paths an applicant whose identity is not verified cannot take
RESTRICTED_PATHS = ("commitment", "tolerance")


class AccountError(ValueError):
    """An account operation refused, with a message a person can read."""


def is_verified(subject: Subject) -> bool:
    """Whether the applicant behind `subject` proved to be it. A subject with an account: that
    account's `verified_at`. Without one: any subject except a self-registered code (those exist
    only because someone typed them in)."""
    account = ApplicantAccount.get_or_none(ApplicantAccount.subject == subject.id)
    if account is not None:
        return account.verified
    return subject.source != SELF_REGISTERED


def restricted(subject: Subject, path: str | None) -> bool:
    """Whether `path` is closed to the applicant because their identity is not verified."""
    return path in RESTRICTED_PATHS and not is_verified(subject)


def get(code: str) -> ApplicantAccount:
    try:
        code = validate_subject_code(code or "")[0]
    except InvalidCode as e:
        raise AccountError(_("证件号码无效：%(reason)s", reason=str(e))) from None
    account = ApplicantAccount.get_or_none(ApplicantAccount.code == code)
    if account is None:
        raise AccountError(_("证件号码 %(code)s 没有办事大厅账号。", code=code))
    return account


def _audit(account: ApplicantAccount, actor: str, action: str, **detail) -> None:
    from plugin.applications.models import AuditEntry
    AuditEntry.create(subject=account.subject_id, actor=actor[:100], action=action,
                      detail={"account": account.id, "code": account.code, **detail})


def disable(account: ApplicantAccount, actor: str, reason: str = "") -> int:
    """Disable the account; returns the sessions ended."""
    with write_transaction():
        ApplicantAccount.update(active=False).where(ApplicantAccount.id == account.id).execute()
        ended = sessions.end_all("applicant", account.id, "disabled")
        _audit(account, actor, "account.disable", reason=reason, sessions_ended=ended)
    account.active = False
    return ended


def enable(account: ApplicantAccount, actor: str) -> None:
    with write_transaction():
        ApplicantAccount.update(active=True).where(ApplicantAccount.id == account.id).execute()
        _audit(account, actor, "account.enable")
    account.active = True


def unbind(account: ApplicantAccount, actor: str, reason: str = "") -> int:
    """Delete the account (the subject, its cases and its audit trail stay); returns the sessions ended."""
    with write_transaction():
        ended = sessions.end_all("applicant", account.id, "unbound")
        account.clear_sign_in_locks()
        _audit(account, actor, "account.unbind", reason=reason, sessions_ended=ended,
               verified_via=account.verified_via)
        ApplicantAccount.delete().where(ApplicantAccount.id == account.id).execute()
    return ended


def reset(account: ApplicantAccount, actor: str) -> str:
    """A temporary password for the account (returned, never stored in clear), every lock cleared,
    every session ended; the applicant must choose a new password at the next sign-in."""
    temporary = "Xy" + secrets.token_urlsafe(9)
    account.set_password(temporary)
    with write_transaction():
        (ApplicantAccount.update(password_hash=account.password_hash, must_change_password=True,
                                 failed_logins=0, locked_until=None)
         .where(ApplicantAccount.id == account.id).execute())
        account.clear_sign_in_locks()
        ended = sessions.end_all("applicant", account.id, "reset")
        _audit(account, actor, "account.reset", sessions_ended=ended)
    account.must_change_password = True
    return temporary


def verify(account: ApplicantAccount, actor: str, note: str = "") -> bool:
    """Staff checked the applicant's papers; False when the account was verified already."""
    if account.verified:
        return False
    with write_transaction():
        moment = now()
        (ApplicantAccount.update(verified_at=moment, verified_via=actor[:100])
         .where(ApplicantAccount.id == account.id).execute())
        _audit(account, actor, "account.verify", note=note)
    account.verified_at, account.verified_via = moment, actor[:100]
    return True


def check_password_rules(password: str) -> str | None:
    if len(password) < 8:
        return _("密码至少 8 位")
    if len(password) > 128:
        return _("密码最多 128 位")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        return _("密码须同时包含字母和数字")
    return None


def change_password(account: ApplicantAccount, current: str, new: str, confirm: str) -> dict[str, str]:
    """The applicant changes their password: {} when done (every session ended: the caller starts a
    new one for this browser), else the problems by field."""
    errors = {}
    if not account.check_password(current or ""):
        errors["current"] = _("当前密码不正确。")
    problem = check_password_rules(new or "")
    if problem:
        errors["password"] = problem
    elif new != confirm:
        errors["confirm"] = _("两次输入的密码不一致")
    elif account.check_password(new):
        errors["password"] = _("新密码不能与当前密码相同。")
    if errors:
        return errors
    account.set_password(new)
    with write_transaction():
        (ApplicantAccount.update(password_hash=account.password_hash, must_change_password=False)
         .where(ApplicantAccount.id == account.id).execute())
        ended = sessions.end_all("applicant", account.id, "password_changed")
        _audit(account, f"applicant:{account.code}", "account.password_changed", sessions_ended=ended)
    account.must_change_password = False
    return {}
