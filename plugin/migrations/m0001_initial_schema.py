"""The initial schema: credit, catalog, calendar, staff, processes, cases and audit.

Frozen: the tables as this migration creates them, stated here (never the live models), so a
fresh database and an upgraded one come out the same (tests/integration/test_migrations.py)."""
import peewee as pw

from plugin.migrations import frozen_base


def apply(db, migrator):
    _Frozen = frozen_base(db)

    class TierScheme(_Frozen):
        code = pw.CharField(max_length=32, unique=True)
        name = pw.CharField(max_length=100)
        region = pw.CharField(max_length=100)
        description = pw.TextField()
        default_tier_code = pw.CharField(max_length=16)
        active = pw.BooleanField(index=True)

        class Meta:
            table_name = 'tier_scheme'

    class Tier(_Frozen):
        scheme = pw.ForeignKeyField(TierScheme, on_delete='RESTRICT')
        code = pw.CharField(max_length=16)
        label = pw.CharField(max_length=32)
        colour = pw.CharField(max_length=16)
        rank = pw.IntegerField()
        inspection_ratio = pw.FloatField()
        description = pw.TextField()

        class Meta:
            table_name = 'tier'
            indexes = [(('scheme', 'code'), True), (('scheme', 'rank'), True)]

    class Subject(_Frozen):
        code = pw.CharField(max_length=18, unique=True)
        name = pw.CharField(max_length=200, index=True)
        kind = pw.CharField(max_length=16)
        tier = pw.ForeignKeyField(Tier, on_delete='RESTRICT', null=True)
        source = pw.CharField(max_length=100)
        tier_updated_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = 'subject'

    class DishonestyRecord(_Frozen):
        subject = pw.ForeignKeyField(Subject, on_delete='RESTRICT')
        severity = pw.CharField(max_length=8)
        reason = pw.TextField()
        authority = pw.CharField(max_length=200)
        start = pw.DateField()
        end = pw.DateField(null=True)
        repaired_at = pw.DateTimeField(null=True)
        fingerprint = pw.CharField(max_length=64, unique=True)
        case_number = pw.CharField(max_length=32, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = 'dishonesty_record'

    class ProcessDefinition(_Frozen):
        key = pw.CharField(max_length=100, index=True)
        version = pw.IntegerField()
        name = pw.CharField(max_length=200)
        xml = pw.TextField()
        checksum = pw.CharField(max_length=64, index=True)
        spec_json = pw.TextField()
        tier_paths_json = pw.TextField()
        scheme_code = pw.CharField(max_length=32)
        source = pw.CharField(max_length=200)
        published_by = pw.CharField(max_length=100)
        published_at = pw.DateTimeField()

        class Meta:
            table_name = 'process_definition'
            indexes = [(('key', 'version'), True)]

    class Matter(_Frozen):
        code = pw.CharField(max_length=64, unique=True)
        name = pw.CharField(max_length=200, index=True)
        department = pw.CharField(max_length=100, index=True)
        kind = pw.CharField(max_length=8)
        legal_days = pw.IntegerField()
        promised_days = pw.IntegerField()
        major_project = pw.BooleanField()
        process = pw.ForeignKeyField(ProcessDefinition, on_delete='RESTRICT', null=True)
        status = pw.CharField(max_length=16, index=True)
        conditions = pw.TextField()
        legal_basis = pw.TextField()
        fee = pw.CharField(max_length=200)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = 'matter'

    class Material(_Frozen):
        code = pw.CharField(max_length=32, unique=True)
        name = pw.CharField(max_length=200, index=True)
        type = pw.CharField(max_length=8)
        form = pw.CharField(max_length=8)
        source = pw.CharField(max_length=16)
        elicence_type = pw.CharField(max_length=100, null=True)
        description = pw.TextField()

        class Meta:
            table_name = 'material'

    class MaterialRequirement(_Frozen):
        matter = pw.ForeignKeyField(Matter, on_delete='RESTRICT')
        material = pw.ForeignKeyField(Material, on_delete='RESTRICT')
        necessity = pw.CharField(max_length=8)
        waived_tiers = pw.CharField(max_length=200)
        commitment_replaces = pw.BooleanField()
        copies = pw.IntegerField()
        supplement_days = pw.IntegerField(null=True)
        notes = pw.TextField()
        position = pw.IntegerField()

        class Meta:
            table_name = 'material_requirement'
            indexes = [(('matter', 'material'), True)]

    class MatterTierLimit(_Frozen):
        matter = pw.ForeignKeyField(Matter, on_delete='CASCADE')
        tier = pw.ForeignKeyField(Tier, on_delete='RESTRICT')
        promised_days = pw.IntegerField()

        class Meta:
            table_name = 'matter_tier_limit'
            indexes = [(('matter', 'tier'), True)]

    class NegativeListEntry(_Frozen):
        matter = pw.ForeignKeyField(Matter, on_delete='RESTRICT')
        legal_basis = pw.TextField()
        severity = pw.CharField(max_length=8)
        effective_from = pw.DateField()
        effective_to = pw.DateField(null=True)
        note = pw.TextField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = 'negative_list_entry'

    class CalendarDay(_Frozen):
        day = pw.DateField(unique=True)
        is_workday = pw.BooleanField()
        name = pw.CharField(max_length=64)
        note = pw.TextField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = 'calendar_day'

    class StaffUser(_Frozen):
        username = pw.CharField(max_length=64, unique=True)
        name = pw.CharField(max_length=100)
        role = pw.CharField(max_length=32)
        department = pw.CharField(max_length=100)
        active = pw.BooleanField()
        created_at = pw.DateTimeField()
        password_hash = pw.CharField(max_length=256)
        last_login_at = pw.DateTimeField(null=True)
        failed_logins = pw.IntegerField()
        locked_until = pw.DateTimeField(null=True)

        class Meta:
            table_name = 'staff_user'

    class Application(_Frozen):
        number = pw.CharField(max_length=32, unique=True)
        matter = pw.ForeignKeyField(Matter, on_delete='RESTRICT')
        subject = pw.ForeignKeyField(Subject, on_delete='RESTRICT')
        process = pw.ForeignKeyField(ProcessDefinition, on_delete='RESTRICT', null=True)
        status = pw.CharField(max_length=16, index=True)
        path = pw.CharField(max_length=16, null=True, index=True)
        decision = pw.CharField(max_length=16, null=True)
        tier_code = pw.CharField(max_length=16, index=True)
        tier_snapshot = pw.TextField()
        form_data = pw.TextField()
        refusal_reason = pw.TextField(null=True)
        state = pw.TextField(null=True)
        version = pw.IntegerField()
        next_due_at = pw.DateTimeField(null=True, index=True)
        promised_days = pw.IntegerField(null=True)
        due_date = pw.DateField(null=True, index=True)
        submitted_at = pw.DateTimeField(index=True)
        decided_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)
        revocation_reason = pw.TextField(null=True)
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = 'application'

    class HumanTask(_Frozen):
        application = pw.ForeignKeyField(Application, on_delete='CASCADE')
        task_id = pw.CharField(max_length=36, unique=True)
        element_id = pw.CharField(max_length=100)
        name = pw.CharField(max_length=200)
        lane = pw.CharField(max_length=32, index=True)
        state = pw.CharField(max_length=16, index=True)
        created_at = pw.DateTimeField()
        completed_at = pw.DateTimeField(null=True)
        completed_by = pw.CharField(max_length=100, null=True)
        claimed_by = pw.CharField(max_length=100, null=True, index=True)
        claimed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = 'human_task'

    class AuditEntry(_Frozen):
        application = pw.ForeignKeyField(Application, on_delete='RESTRICT', null=True)
        subject = pw.ForeignKeyField(Subject, on_delete='RESTRICT', null=True)
        actor = pw.CharField(max_length=100)
        action = pw.CharField(max_length=64, index=True)
        from_status = pw.CharField(max_length=16, null=True)
        to_status = pw.CharField(max_length=16, null=True)
        tier_code = pw.CharField(max_length=16, null=True)
        detail = pw.TextField()
        at = pw.DateTimeField(index=True)

        class Meta:
            table_name = 'audit_entry'

    db.create_tables([TierScheme, Tier, Subject, DishonestyRecord, ProcessDefinition, Matter, Material, MaterialRequirement, MatterTierLimit, NegativeListEntry, CalendarDay, StaffUser, Application, HumanTask, AuditEntry], safe=True)
