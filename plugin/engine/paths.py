"""The handling path a matter's published diagram takes for a tier, as recorded at publication."""
from __future__ import annotations


def expected_path(matter, tier) -> str:
    """instant / tolerance / commitment / standard / repair, for `tier` (a code or an EffectiveTier).

    An `EffectiveTier` with a dishonesty record takes the path the dry run found for a subject
    with a record. A matter without a published process is handled by standard review.
    """
    definition = matter.process
    if definition is None:
        return "standard"
    code = tier if isinstance(tier, str) else tier.code
    has_record = False if isinstance(tier, str) else tier.has_dishonesty_record
    paths = definition.tier_paths.get(code) or {}
    return paths.get("record" if has_record else "clean") or "standard"
