"""Incidents: a diagram that failed while a case ran, kept for staff (the case itself unchanged).
Frozen DDL, see m0001."""
import peewee as pw

from plugin.migrations import frozen_base, stub


def apply(db, migrator):
    _Frozen, _stub = frozen_base(db), stub(db)

    class Incident(_Frozen):
        application = pw.ForeignKeyField(_stub('application'), on_delete='RESTRICT', null=True)
        matter = pw.ForeignKeyField(_stub('matter'), on_delete='RESTRICT', null=True)
        process = pw.ForeignKeyField(_stub('process_definition'), on_delete='RESTRICT', null=True)
        subject_code = pw.CharField(max_length=18, null=True)
        operation = pw.CharField(max_length=32)
        element_id = pw.CharField(max_length=100, null=True)
        message = pw.TextField()
        occurrences = pw.IntegerField()
        created_at = pw.DateTimeField(index=True)
        last_at = pw.DateTimeField()
        resolved_at = pw.DateTimeField(null=True, index=True)
        resolved_by = pw.CharField(max_length=100, null=True)

        class Meta:
            table_name = 'incident'

    db.create_tables([Incident], safe=True)
