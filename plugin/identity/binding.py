"""Binding a portal account to a credit subject the library holds, with proof.

A subject's code and name are public (营业执照, 信用中国), so knowing them proves nothing. Registering
an account for a subject of the library therefore makes a `BindingRequest`, and the account exists
only once the request is proven:

- by the **activation code** sent out of band to the contact the credit library holds for the
  subject (`Subject.contact_email` / `contact_phone`, through `plugin.notifications`): 8 random
  digits, kept only as an HMAC, valid ``XINYIPI_ACTIVATION_MINUTES`` (30), single use, at most
  `MAX_ATTEMPTS` tries per code and `MAX_CODES` codes per request;
- or by a **staff review** in the admin (账号绑定审核), where a subject without a contact on record
  (or an applicant who cannot receive the code) waits.

Several requests for one subject may wait at once, so a stranger's request blocks nobody; the
first one proven binds and the others lapse. The subject's contact is told of every binding.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets

import peewee as pw
from flask import current_app

from plugin import notifications
from plugin.credit.models import Subject
from plugin.db import now, write_transaction
from plugin.i18n import _
from plugin.identity.models import (BOUND, CODE_SENT, REJECTED, REVIEW, SUPERSEDED, BindingRequest)

MAX_ATTEMPTS = 5          # wrong activation codes per code sent
MAX_CODES = 3             # codes sent per request (the first and two more)
MAX_OPEN = 5              # requests waiting for one subject at once
OPEN = (CODE_SENT, REVIEW)


class Refused(ValueError):
    """A binding step refused, with a message a person can read."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code_hmac(request_id: int, code: str) -> str:
    key = str(current_app.config["XINYIPI_SECRET_KEY"]).encode()
    return hmac.new(key, f"activation:{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _audit(subject_id: int, actor: str, action: str, **detail) -> None:
    from plugin.applications.models import AuditEntry
    AuditEntry.create(subject=subject_id, actor=actor[:100], action=action, detail=detail)


def find(token: str | None) -> BindingRequest | None:
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    return BindingRequest.get_or_none(BindingRequest.token_hash == _digest(token))


def open_requests(code: str):
    return (BindingRequest.select().where((BindingRequest.code == code) & BindingRequest.status.in_(OPEN))
            .order_by(BindingRequest.id))


def request_binding(subject: Subject, name: str, password_hash: str, ip: str = "") -> tuple[BindingRequest, str]:
    """Open a request to bind an account to `subject`; returns it and the requester's token (kept in
    their session). The activation code goes out at once when the subject has a contact the channel
    reaches; otherwise the request waits for staff review."""
    if open_requests(subject.code).count() >= MAX_OPEN:
        raise Refused(_("该主体已有多项待处理的绑定申请，请稍后再试，或携带证件到办事窗口办理。"))
    token = secrets.token_urlsafe(24)
    address = notifications.reachable(notifications.Contact.of(subject))
    with write_transaction():
        req = BindingRequest.create(token_hash=_digest(token), subject=subject, code=subject.code, name=name,
                                    password_hash=password_hash, status=CODE_SENT if address else REVIEW,
                                    contact=notifications.mask(address), ip=(ip or "")[:64])
        _audit(subject.id, f"applicant:{subject.code}", "binding.requested", request=req.id,
               method="activation" if address else "review", ip=req.ip)
    if address:
        send_code(req)
    return req, token


def new_token(req: BindingRequest) -> str:
    """A fresh handle for a request whose requester proved its password again (signing in)."""
    token = secrets.token_urlsafe(24)
    BindingRequest.update(token_hash=_digest(token)).where(BindingRequest.id == req.id).execute()
    return token


def send_code(req: BindingRequest) -> bool:
    """Send a new activation code for `req` (the previous one stops working); whether it was delivered."""
    code = f"{secrets.randbelow(10 ** 8):08d}"
    minutes = int(current_app.config.get("XINYIPI_ACTIVATION_MINUTES") or 30)
    moment = now()
    updated = (BindingRequest.update(activation_hash=_code_hmac(req.id, code), activation_attempts=0,
                                     activation_expires_at=moment + _dt.timedelta(minutes=minutes),
                                     codes_sent=BindingRequest.codes_sent + 1)
               .where((BindingRequest.id == req.id) & (BindingRequest.status == CODE_SENT)
                      & (BindingRequest.codes_sent < MAX_CODES)).execute())
    if updated != 1:
        fresh = BindingRequest.get_by_id(req.id)
        if fresh.status != CODE_SENT:
            raise Refused(_("该绑定申请已处理，无需再发送激活码。"))
        raise Refused(_("激活码已发送 %(n)s 次，不能再发送。请申请人工审核，或携带证件到办事窗口办理。", n=MAX_CODES))
    subject = req.subject
    text = ("【信易批】您好：有人申请将办事大厅账号绑定到信用主体“{name}”（{code}）。"
            "如是本单位（本人）申请，激活码：{activation}，{minutes} 分钟内有效，仅可使用一次。"
            "如非本单位（本人）申请，请勿将激活码告诉任何人，并可联系发证机关或信用主管部门。")
    message = notifications.Message(
        kind="activation", title="【信易批】账号绑定激活码",
        body=text.format(name=subject.name, code=subject.code, activation=code, minutes=minutes),
        record=text.format(name=subject.name, code=subject.code, activation="（不保存）", minutes=minutes))
    delivered = notifications.send(subject, notifications.Contact.of(subject), message)
    _audit(subject.id, "system", "binding.code_sent", request=req.id, delivered=delivered, contact=req.contact)
    return delivered


def to_review(req: BindingRequest) -> None:
    """The requester cannot receive the code: the request waits for a staff review instead."""
    updated = (BindingRequest.update(status=REVIEW, activation_hash=None, activation_expires_at=None)
               .where((BindingRequest.id == req.id) & (BindingRequest.status == CODE_SENT)).execute())
    if updated != 1:
        raise Refused(_("该绑定申请已处理。"))
    _audit(req.subject_id, f"applicant:{req.code}", "binding.review_requested", request=req.id)


def _count_attempt(req: BindingRequest, moment: _dt.datetime) -> bool:
    """Count one activation attempt, atomically: False when the code is used up, expired or out of tries."""
    query = (BindingRequest.update(activation_attempts=BindingRequest.activation_attempts + 1)
             .where((BindingRequest.id == req.id) & (BindingRequest.status == CODE_SENT)
                    & (BindingRequest.activation_attempts < MAX_ATTEMPTS)
                    & (BindingRequest.activation_expires_at > moment)))
    return query.execute() == 1


def activate(req: BindingRequest, code: str) -> "ApplicantAccount":  # noqa: F821
    """Bind the account of `req` when `code` is its activation code."""
    moment = now()
    if not _count_attempt(req, moment):
        fresh = BindingRequest.get_by_id(req.id)
        if fresh.status != CODE_SENT:
            raise Refused(_("该绑定申请已处理，不能再使用激活码。"))
        if fresh.activation_attempts >= MAX_ATTEMPTS:
            raise Refused(_("激活码错误次数过多，该激活码已作废。请重新发送激活码，或申请人工审核。"))
        raise Refused(_("激活码已过期，请重新发送激活码。"))
    fresh = BindingRequest.get_by_id(req.id)
    given = "".join((code or "").split())
    if not (given.isdigit() and len(given) == 8 and fresh.activation_hash
            and hmac.compare_digest(_code_hmac(req.id, given), fresh.activation_hash)):
        left = MAX_ATTEMPTS - fresh.activation_attempts
        if left <= 0:
            raise Refused(_("激活码错误次数过多，该激活码已作废。请重新发送激活码，或申请人工审核。"))
        raise Refused(_("激活码不正确，还可尝试 %(n)s 次。", n=left))
    return _bind(fresh, via="activation", actor=f"applicant:{req.code}", states=(CODE_SENT,))


def approve(request_id: int, actor: str) -> "ApplicantAccount":  # noqa: F821
    """A staff review found the requester to be the subject: bind the account. `actor` is who
    reviewed (``staff:<username>`` in the admin, ``cli:<name>`` from the command line)."""
    req = BindingRequest.get_or_none(BindingRequest.id == request_id)
    if req is None:
        raise Refused(_("绑定申请 %(id)s 不存在。", id=request_id))
    return _bind(req, via=actor, actor=actor, states=(REVIEW,))


def reject(request_id: int, actor: str, reason: str = "") -> BindingRequest:
    req = BindingRequest.get_or_none(BindingRequest.id == request_id)
    if req is None:
        raise Refused(_("绑定申请 %(id)s 不存在。", id=request_id))
    with write_transaction():
        updated = (BindingRequest.update(status=REJECTED, decided_at=now(), decided_by=actor[:100],
                                         note=reason[:1000], activation_hash=None)
                   .where((BindingRequest.id == req.id) & BindingRequest.status.in_(OPEN)).execute())
        if updated != 1:
            raise Refused(_("绑定申请 %(id)s 已处理（%(status)s）。", id=req.id, status=_(req.status_label)))
        _audit(req.subject_id, actor, "binding.rejected", request=req.id, reason=reason)
    return BindingRequest.get_by_id(req.id)


def _bind(req: BindingRequest, via: str, actor: str, states: tuple[str, ...]):
    from plugin.identity.models import ApplicantAccount
    try:
        with write_transaction():
            updated = (BindingRequest.update(status=BOUND, decided_at=now(), decided_by=actor[:100],
                                             activation_hash=None)
                       .where((BindingRequest.id == req.id) & BindingRequest.status.in_(states)).execute())
            if updated != 1:
                raise Refused(_("该绑定申请已处理。"))
            if ApplicantAccount.select().where((ApplicantAccount.subject == req.subject_id)
                                               | (ApplicantAccount.code == req.code)).exists():
                raise Refused(_("该信用主体已绑定办事大厅账号。如非本单位（本人）绑定，请联系工作人员解除绑定。"))
            account = ApplicantAccount.create(subject=req.subject_id, code=req.code, password_hash=req.password_hash,
                                              verified_at=now(), verified_via=via[:100])
            (BindingRequest.update(status=SUPERSEDED, decided_at=now(), activation_hash=None)
             .where((BindingRequest.subject == req.subject_id) & BindingRequest.status.in_(OPEN)).execute())
            _audit(req.subject_id, actor, "binding.bound", request=req.id, via=via)
    except pw.IntegrityError:
        raise Refused(_("该信用主体已绑定办事大厅账号。如非本单位（本人）绑定，请联系工作人员解除绑定。")) from None
    notify_bound(account.subject, via)
    return account


VIA_LABELS = {"activation": "激活码验证", "oidc": "统一身份认证"}


def notify_bound(subject: Subject, via: str) -> bool:
    """Tell the subject's contact that an account was bound to it (every binding)."""
    contact = notifications.Contact.of(subject)
    if not contact:
        return False
    how = VIA_LABELS.get(via, "工作人员审核" if via.startswith(("staff:", "cli:")) else via)
    from plugin import clock
    moment = clock.local(now()).strftime("%Y-%m-%d %H:%M")
    body = (f"【信易批】信用主体“{subject.name}”（{subject.code}）已于 {moment} 绑定办事大厅账号（方式：{how}）。"
            "如非本单位（本人）操作，请立即联系办事大厅工作人员解除绑定。")
    return notifications.send(subject, contact, notifications.Message(kind="binding", title="【信易批】账号绑定通知",
                                                                      body=body))
