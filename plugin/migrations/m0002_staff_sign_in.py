"""Staff sign-in: last login, failed attempts and the lock that follows them."""
import peewee as pw

from plugin.migrations import add_missing_columns


def apply(db, migrator):
    add_missing_columns(db, migrator, "staff_user", {
        "last_login_at": pw.DateTimeField(null=True),
        "failed_logins": pw.IntegerField(default=0),
        "locked_until": pw.DateTimeField(null=True),
    })
