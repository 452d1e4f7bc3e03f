"""Incidents: a diagram that failed while a case ran, kept for staff (the case itself unchanged).

The table is stated here as it was when this migration was written (not the live model), so a
database migrated from 0001 and one created fresh end up the same."""
import peewee as pw


def apply(db, migrator):
    class Incident(pw.Model):
        application_id = pw.IntegerField(null=True)
        matter_id = pw.IntegerField(null=True)
        process_id = pw.IntegerField(null=True)
        subject_code = pw.CharField(max_length=18, null=True)
        operation = pw.CharField(max_length=32)
        element_id = pw.CharField(max_length=100, null=True)
        message = pw.TextField()
        occurrences = pw.IntegerField(default=1)
        created_at = pw.DateTimeField(index=True)
        last_at = pw.DateTimeField()
        resolved_at = pw.DateTimeField(null=True, index=True)
        resolved_by = pw.CharField(max_length=100, null=True)

        class Meta:
            database = db
            table_name = "incident"

    db.create_tables([Incident], safe=True)
    db.execute_sql("CREATE INDEX IF NOT EXISTS incident_application_id ON incident (application_id)")
