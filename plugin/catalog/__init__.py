"""The matter catalog, the material catalog and the negative list."""
from plugin.catalog.models import (Material, MaterialRequirement, Matter, MatterTierLimit,
                                   NegativeListEntry)
from plugin.catalog.negative_list import Closure, is_closed_to, is_on_negative_list
from plugin.catalog.requirements import MaterialDisposition, requirements_for

__all__ = ["Material", "MaterialRequirement", "Matter", "MatterTierLimit", "NegativeListEntry",
           "Closure", "is_closed_to", "is_on_negative_list", "MaterialDisposition", "requirements_for"]
