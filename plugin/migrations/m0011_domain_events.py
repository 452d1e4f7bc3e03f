"""The outbox of the unit of work (plugin.work): domain events written with the change they
announce, delivered after commit. Frozen DDL, see m0001."""
import peewee as pw

from plugin.migrations import frozen_base


def apply(db, migrator):
    _Frozen = frozen_base(db)

    class DomainEvent(_Frozen):
        name = pw.CharField(max_length=64, index=True)
        payload = pw.TextField()
        actor = pw.CharField(max_length=100)
        subject_code = pw.CharField(max_length=18, null=True, index=True)
        case_number = pw.CharField(max_length=32, null=True, index=True)
        created_at = pw.DateTimeField(index=True)
        delivered_at = pw.DateTimeField(null=True, index=True)
        attempts = pw.IntegerField()
        last_error = pw.TextField(null=True)

        class Meta:
            table_name = 'domain_event'

    db.create_tables([DomainEvent], safe=True)
