"""Applicant accounts for the portal (办事大厅): subject code, password hash, lockout (frozen DDL)."""
import peewee as pw

from plugin.migrations import frozen_base, stub


def apply(db, migrator):
    _Frozen, _stub = frozen_base(db), stub(db)

    class ApplicantAccount(_Frozen):
        subject = pw.ForeignKeyField(_stub('subject'), on_delete='RESTRICT', unique=True)
        code = pw.CharField(max_length=18, unique=True)
        active = pw.BooleanField()
        created_at = pw.DateTimeField()
        password_hash = pw.CharField(max_length=256)
        last_login_at = pw.DateTimeField(null=True)
        failed_logins = pw.IntegerField()
        locked_until = pw.DateTimeField(null=True)

        class Meta:
            table_name = 'applicant_account'

    db.create_tables([ApplicantAccount], safe=True)
