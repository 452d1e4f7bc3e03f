"""The materials and signed commitments of each case."""
from plugin.applications.materials import CaseMaterial, Commitment


def apply(db, migrator):
    db.create_tables([CaseMaterial, Commitment], safe=True)
