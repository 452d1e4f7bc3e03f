"""The initial schema: credit, catalog, calendar, staff, processes, cases and audit."""
from plugin.accounts import StaffUser
from plugin.applications.models import Application, AuditEntry, HumanTask
from plugin.calendar import CalendarDay
from plugin.catalog.models import (Material, MaterialRequirement, Matter, MatterTierLimit,
                                   NegativeListEntry)
from plugin.credit.models import DishonestyRecord, Subject, Tier, TierScheme
from plugin.engine.models import ProcessDefinition

MODELS = [TierScheme, Tier, Subject, DishonestyRecord, ProcessDefinition, Matter, Material,
          MaterialRequirement, MatterTierLimit, NegativeListEntry, CalendarDay, StaffUser,
          Application, HumanTask, AuditEntry]


def apply(db, migrator):
    db.create_tables(MODELS, safe=True)
