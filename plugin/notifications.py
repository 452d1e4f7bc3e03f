"""Messages to applicants through one small channel interface (a later notification centre builds on
it).

A `Message` goes to a `Contact` (the email and phone the credit library holds for a subject). The
channel is chosen by configuration: SMTP when ``XINYIPI_SMTP_HOST`` is set (it reaches email
addresses), otherwise the in-app/log channel (it reaches any contact: the message is written to the
``xinyipi.notifications`` log). Every message sent, or failed, is kept as a `Notification` row — with
``record`` instead of the body when the body holds a secret such as an activation code.
"""
from __future__ import annotations

import dataclasses
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr

import peewee as pw
from flask import current_app

from plugin.credit.models import Subject
from plugin.db import BaseModel, now

log = logging.getLogger("xinyipi.notifications")

SENT, FAILED = "sent", "failed"


class Notification(BaseModel):
    """A message sent (or that failed) to a subject's contact."""

    subject = pw.ForeignKeyField(Subject, null=True, backref="notifications", on_delete="RESTRICT",
                                 verbose_name="信用主体")
    kind = pw.CharField(max_length=32, verbose_name="消息类型")
    channel = pw.CharField(max_length=16, verbose_name="渠道")
    recipient = pw.CharField(max_length=200, verbose_name="接收方")
    title = pw.CharField(max_length=200, verbose_name="标题")
    body = pw.TextField(verbose_name="内容")
    status = pw.CharField(max_length=16, verbose_name="状态")
    error = pw.TextField(null=True, verbose_name="错误")
    created_at = pw.DateTimeField(default=now, index=True, verbose_name="时间")

    class Meta:
        table_name = "notification"


@dataclasses.dataclass(frozen=True)
class Contact:
    email: str | None = None
    phone: str | None = None

    @classmethod
    def of(cls, subject: Subject) -> "Contact":
        return cls((subject.contact_email or "").strip() or None, (subject.contact_phone or "").strip() or None)

    def __bool__(self):
        return bool(self.email or self.phone)


@dataclasses.dataclass(frozen=True)
class Message:
    kind: str                      # activation / binding / …
    title: str
    body: str                      # what is delivered
    record: str | None = None      # what is kept instead of the body (leave secrets out)


class DeliveryFailed(Exception):
    """The channel could not deliver the message."""


class LogChannel:
    """In-app/log: the message is kept and written to the `xinyipi.notifications` log."""

    name = "log"

    def address(self, contact: Contact) -> str | None:
        return contact.email or contact.phone

    def send(self, address: str, message: Message) -> None:
        log.info("to %s: %s\n%s", address, message.title, message.body)


class SmtpChannel:
    """Email through the SMTP server of ``XINYIPI_SMTP_*``."""

    name = "smtp"

    def __init__(self, config):
        self.host = config["XINYIPI_SMTP_HOST"]
        self.port = int(config.get("XINYIPI_SMTP_PORT") or 25)
        self.user = config.get("XINYIPI_SMTP_USER")
        self.password = config.get("XINYIPI_SMTP_PASSWORD")
        self.sender = config.get("XINYIPI_SMTP_FROM") or "xinyipi@localhost"
        self.starttls = str(config.get("XINYIPI_SMTP_STARTTLS") or "").lower() in ("1", "true", "yes")

    def address(self, contact: Contact) -> str | None:
        return contact.email

    def send(self, address: str, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = formataddr(("信易批", self.sender))
        mail["To"] = address
        mail["Subject"] = message.title
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryFailed(str(e)) from e


def channel():
    """The channel configured for this app."""
    config = current_app.config
    return SmtpChannel(config) if config.get("XINYIPI_SMTP_HOST") else LogChannel()


def reachable(contact: Contact) -> str | None:
    """The address the configured channel would use for `contact`, or None when it reaches none."""
    return channel().address(contact) if contact else None


def send(subject: Subject | None, contact: Contact, message: Message) -> bool:
    """Deliver `message` to `contact` and keep it; whether it was delivered. Never raises for a
    delivery failure (it is recorded and logged)."""
    chosen = channel()
    address = chosen.address(contact) if contact else None
    status, error = SENT, None
    if address is None:
        status, error = FAILED, "no address this channel reaches"
    else:
        try:
            chosen.send(address, message)
        except DeliveryFailed as e:
            status, error = FAILED, str(e)[:1000]
            log.warning("delivery to %s failed: %s", address, error)
    Notification.create(subject=subject, kind=message.kind, channel=chosen.name, recipient=(address or "")[:200],
                        title=message.title[:200], body=message.record if message.record is not None else message.body,
                        status=status, error=error)
    return status == SENT


def mask(address: str | None) -> str:
    """An address as shown to someone who does not own it: ``wa***@example.com``, ``138****5678``."""
    if not address:
        return ""
    if "@" in address:
        local, _at, domain = address.partition("@")
        return f"{local[:2]}***@{domain}"
    digits = address.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****" + digits[-2:]
