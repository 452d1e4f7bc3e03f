"""Process drafts: uploaded (or designed) diagrams kept with their last validation report."""
from plugin.engine.drafts import ProcessDraft


def apply(db, migrator):
    db.create_tables([ProcessDraft], safe=True)
