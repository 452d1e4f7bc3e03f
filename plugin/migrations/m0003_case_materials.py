"""The materials and signed commitments of each case (frozen DDL, see m0001)."""
import peewee as pw

from plugin.migrations import frozen_base, stub


def apply(db, migrator):
    _Frozen, _stub = frozen_base(db), stub(db)

    class CaseMaterial(_Frozen):
        application = pw.ForeignKeyField(_stub('application'), on_delete='CASCADE')
        material_code = pw.CharField(max_length=64)
        material_name = pw.CharField(max_length=200)
        disposition = pw.CharField(max_length=16)
        state = pw.CharField(max_length=16, index=True)
        sha256 = pw.CharField(max_length=64, null=True, index=True)
        filename = pw.CharField(max_length=255, null=True)
        content_type = pw.CharField(max_length=100, null=True)
        size = pw.IntegerField(null=True)
        due_date = pw.DateField(null=True, index=True)
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = 'case_material'
            indexes = [(('application', 'material_code'), True)]

    class Commitment(_Frozen):
        application = pw.ForeignKeyField(_stub('application'), on_delete='CASCADE')
        kind = pw.CharField(max_length=16)
        text = pw.TextField()
        text_sha256 = pw.CharField(max_length=64)
        signer_code = pw.CharField(max_length=18)
        signer_name = pw.CharField(max_length=200)
        signed_at = pw.DateTimeField()

        class Meta:
            table_name = 'commitment'

    db.create_tables([CaseMaterial, Commitment], safe=True)
