"""Process drafts remember who saved them last (the BPMN designer names them in a save conflict)."""
import peewee as pw

from plugin.migrations import add_missing_columns


def apply(db, migrator):
    add_missing_columns(db, migrator, "process_draft",
                        {"updated_by": pw.CharField(max_length=100, default="")})
