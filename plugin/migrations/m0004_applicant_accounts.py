"""Applicant accounts for the portal (办事大厅): subject code, password hash, lockout."""
from plugin.portal.models import ApplicantAccount


def apply(db, migrator):
    db.create_tables([ApplicantAccount], safe=True)
