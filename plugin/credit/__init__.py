"""Credit: tier schemes, subjects, dishonesty records and the effective tier."""
from plugin.credit.models import DishonestyRecord, Subject, Tier, TierScheme
from plugin.credit.tiers import EffectiveTier, active_scheme, effective_tier

__all__ = ["DishonestyRecord", "Subject", "Tier", "TierScheme", "EffectiveTier", "active_scheme",
           "effective_tier"]
