"""Staff accounts and their roles, and the password sign-in both staff and applicants share.
(Applicants log in with their subject code; see the portal.)"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import secrets

import peewee as pw
from werkzeug.security import check_password_hash, generate_password_hash

from plugin.db import BaseModel, is_postgres, now, write_transaction
from plugin.roles import ROLES, SYSADMIN

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


@dataclasses.dataclass(frozen=True)
class Attempt:
    """What one sign-in attempt came to. `locked_minutes` is set when the client is locked out
    (the password was then not even checked, unless `locked_now`: this attempt's failure locked it)."""

    ok: bool
    locked_minutes: int | None = None
    locked_now: bool = False


class PasswordAccount(BaseModel):
    """What staff and applicant accounts share: a hashed password, and the lock that follows five
    wrong passwords in a row from one client (15 minutes).

    The counters live in `sign_in_guard`, one row per account and client (a recognised browser, or
    else an IP address), so a stranger's guesses lock out the stranger, not the account's owner. (The
    `failed_logins` and `locked_until` columns below are the pre-0008 account-wide counter; they stay
    in the schema and are cleared by a reset, but nothing counts in them any more.)
    """

    ACCOUNT_KIND = ""      # "staff" / "applicant": the sign_in_guard and sign_in_session rows' kind

    password_hash = pw.CharField(max_length=256, verbose_name="密码哈希")
    last_login_at = pw.DateTimeField(null=True, verbose_name="最近登录")
    failed_logins = pw.IntegerField(default=0, verbose_name="连续登录失败次数")
    locked_until = pw.DateTimeField(null=True, verbose_name="锁定至")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def sign_in(self, password: str, client: str = "") -> Attempt:
        """Try `password` from `client`.

        The attempt is counted before the password is checked, by one UPDATE that adds 1 only while
        the (account, client) pair is under the limit and not locked, and the lock is decided from
        the row that UPDATE returned: of any number of parallel guesses at most MAX_FAILED_LOGINS are
        checked against the hash, and exactly one of them (the one that counted to the limit) locks.
        A right password clears the pair's counter; while locked, even a right one is refused.
        """
        from plugin.identity.models import SignInGuard
        moment = now()
        key = ((SignInGuard.kind == self.ACCOUNT_KIND) & (SignInGuard.account_id == self.id)
               & (SignInGuard.client == client[:100]))
        SignInGuard.insert(kind=self.ACCOUNT_KIND, account_id=self.id, client=client[:100], failed_logins=0,
                           updated_at=moment).on_conflict_ignore().execute()
        counted = _count_attempt(key, moment)
        if counted is None:
            row = SignInGuard.get_or_none(key)
            until = row.locked_until if row is not None and row.locked_until else moment + _dt.timedelta(minutes=LOCK_MINUTES)
            return Attempt(False, max(1, int((until - moment).total_seconds() // 60) + 1))
        if self.check_password(password):
            SignInGuard.update(failed_logins=0, locked_until=None, updated_at=moment).where(key).execute()
            type(self).update(last_login_at=moment).where(type(self).id == self.id).execute()
            self.last_login_at = moment
            return Attempt(True)
        if counted >= MAX_FAILED_LOGINS:
            (SignInGuard.update(failed_logins=0, locked_until=moment + _dt.timedelta(minutes=LOCK_MINUTES),
                                updated_at=moment).where(key).execute())
            return Attempt(False, LOCK_MINUTES, locked_now=True)
        return Attempt(False)

    def clear_sign_in_locks(self) -> int:
        """Forget every client's wrong passwords and locks (a reset by staff)."""
        from plugin.identity.models import SignInGuard
        return (SignInGuard.delete().where((SignInGuard.kind == self.ACCOUNT_KIND)
                                           & (SignInGuard.account_id == self.id)).execute())


def _count_attempt(key, moment: _dt.datetime) -> int | None:
    """Count one attempt for the guard row `key`: the new count, or None when the pair is locked or
    at its limit (then nothing is counted and the password must not be checked)."""
    from plugin.identity.models import SignInGuard
    query = (SignInGuard.update(failed_logins=SignInGuard.failed_logins + 1, updated_at=moment)
             .where(key & (SignInGuard.failed_logins < MAX_FAILED_LOGINS)
                    & (SignInGuard.locked_until.is_null() | (SignInGuard.locked_until <= moment))))
    if is_postgres():
        rows = list(query.returning(SignInGuard.failed_logins).tuples().execute())
        return rows[0][0] if rows else None
    # SQLite: the UPDATE and the read of the row it wrote in one write transaction (writers are
    # serialised, so the count read back is the one this UPDATE made)
    with write_transaction():
        if query.execute() != 1:
            return None
        return SignInGuard.select(SignInGuard.failed_logins).where(key).scalar()


class StaffUser(PasswordAccount):
    ACCOUNT_KIND = "staff"

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
    user = StaffUser(username=FIRST_SYSADMIN, name="系统管理员", role=SYSADMIN, department="")
    user.set_password(password)
    try:
        with database.atomic():
            if StaffUser.select().exists():       # another `init` was quicker
                return None
            user.save()
    except pw.IntegrityError:
        return None
    return password
