"""Supervision after approval: verification and inspection items, inspection draws, tier changes;
task claims; revocation of a case; the case a dishonesty record came from."""
import peewee as pw

from plugin.credit.models import TierChange
from plugin.migrations import add_missing_columns
from plugin.supervision.models import InspectionDraw, SupervisionItem


def apply(db, migrator):
    add_missing_columns(db, migrator, "human_task", {
        "claimed_by": pw.CharField(max_length=100, null=True),
        "claimed_at": pw.DateTimeField(null=True),
    })
    add_missing_columns(db, migrator, "application", {
        "revoked_at": pw.DateTimeField(null=True),
        "revocation_reason": pw.TextField(null=True),
    })
    add_missing_columns(db, migrator, "dishonesty_record", {
        "case_number": pw.CharField(max_length=32, null=True),
    })
    db.create_tables([TierChange, InspectionDraw, SupervisionItem], safe=True)
    if "human_task_claimed_by" not in {i.name for i in db.get_indexes("human_task")}:
        db.execute_sql("CREATE INDEX human_task_claimed_by ON human_task (claimed_by)")
