"""Process drafts: uploaded (or designed) diagrams kept with their last validation report (frozen DDL)."""
import peewee as pw

from plugin.migrations import frozen_base


def apply(db, migrator):
    _Frozen = frozen_base(db)

    class ProcessDraft(_Frozen):
        key = pw.CharField(max_length=100, index=True)
        name = pw.CharField(max_length=200)
        xml = pw.TextField()
        filename = pw.CharField(max_length=200)
        uploaded_by = pw.CharField(max_length=100)
        uploaded_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        updated_by = pw.CharField(max_length=100)
        report_json = pw.TextField()

        class Meta:
            table_name = 'process_draft'

    db.create_tables([ProcessDraft], safe=True)
