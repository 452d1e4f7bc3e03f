"""Supervision after approval: verification and inspection items, inspection draws, tier changes;
task claims; revocation of a case; the case a dishonesty record came from (frozen DDL, see m0001)."""
import peewee as pw

from plugin.migrations import add_missing_columns, frozen_base, stub


def apply(db, migrator):
    _Frozen, _stub = frozen_base(db), stub(db)

    class TierChange(_Frozen):
        subject = pw.ForeignKeyField(_stub('subject'), on_delete='RESTRICT')
        scheme = pw.CharField(max_length=32)
        from_code = pw.CharField(max_length=16)
        to_code = pw.CharField(max_length=16)
        from_blacklisted = pw.BooleanField()
        to_blacklisted = pw.BooleanField()
        cause = pw.CharField(max_length=16)
        reason = pw.TextField()
        case_number = pw.CharField(max_length=32, null=True)
        actor = pw.CharField(max_length=100)
        at = pw.DateTimeField(index=True)

        class Meta:
            table_name = 'tier_change'

    class InspectionDraw(_Frozen):
        matter_code = pw.CharField(max_length=64, null=True)
        on_date = pw.DateField()
        seed = pw.BigIntegerField()
        scheme = pw.CharField(max_length=32)
        ratios = pw.TextField()
        population = pw.TextField()
        inspectors = pw.TextField()
        population_count = pw.IntegerField()
        drawn_count = pw.IntegerField()
        created_by = pw.CharField(max_length=100)
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = 'inspection_draw'

    class SupervisionItem(_Frozen):
        kind = pw.CharField(max_length=16, index=True)
        application = pw.ForeignKeyField(_stub('application'), on_delete='RESTRICT')
        draw = pw.ForeignKeyField(InspectionDraw, on_delete='RESTRICT', null=True)
        tier_code = pw.CharField(max_length=16)
        assignee = pw.CharField(max_length=100, null=True, index=True)
        due_date = pw.DateField(index=True)
        state = pw.CharField(max_length=16, index=True)
        note = pw.TextField(null=True)
        recorded_by = pw.CharField(max_length=100, null=True)
        recorded_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = 'supervision_item'

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
    if ["claimed_by"] not in [i.columns for i in db.get_indexes("human_task")]:
        db.execute_sql("CREATE INDEX human_task_claimed_by ON human_task (claimed_by)")
