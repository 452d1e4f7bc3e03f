"""The effective tier: computed here and nowhere else ("逢报必查").

The effective tier starts from the subject's imported tier (mapped onto the
active scheme when it was imported under another one, or the scheme's default
tier when the subject has none), and an active severe dishonesty record caps it
at the worst tier and puts the subject on the blacklist. General (一般) records
do not move the tier, but they count as a dishonesty record: diagrams see them
as `has_dishonesty_record`, and the negative list may close matters on them.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin.credit.models import SEVERE, DishonestyRecord, Subject, Tier, TierScheme


class NoActiveScheme(RuntimeError):
    def __init__(self):
        super().__init__("没有启用的信用等级体系：请在“信用等级体系”中启用一个（或运行 xinyipi seed）")


def active_scheme() -> TierScheme:
    scheme = TierScheme.get_or_none(TierScheme.active == True)  # noqa: E712
    if scheme is None:
        raise NoActiveScheme()
    return scheme


def activate_scheme(code: str) -> TierScheme:
    """Make the scheme `code` the only active one."""
    scheme = TierScheme.get(TierScheme.code == code)
    with TierScheme._meta.database.atomic():
        TierScheme.update(active=False).where(TierScheme.id != scheme.id).execute()
        TierScheme.update(active=True).where(TierScheme.id == scheme.id).execute()
    scheme.active = True
    return scheme


def tier_by_code(scheme: TierScheme, code: str) -> Tier | None:
    return Tier.get_or_none((Tier.scheme == scheme) & (Tier.code == code))


def map_tier(tier: Tier, scheme: TierScheme) -> Tier:
    """Map a tier of another scheme onto `scheme` by its relative position (best↔best, worst↔worst)."""
    if tier.scheme_id == scheme.id:
        return tier
    source_top = tier.scheme.tiers.count() - 1
    target = list(scheme.tiers.order_by(Tier.rank))
    target_top = len(target) - 1
    rank = tier.rank if source_top == 0 else round(tier.rank * target_top / source_top)
    return target[rank]


@dataclasses.dataclass(frozen=True)
class EffectiveTier:
    """A subject's effective tier at one moment, and why."""

    subject_code: str
    subject_name: str
    subject_kind: str
    scheme: str
    code: str
    label: str
    colour: str
    rank: int
    top_rank: int
    imported: str | None
    source: str
    updated_at: str | None
    blacklisted: bool
    has_dishonesty_record: bool
    records: tuple[dict, ...]
    reasons: tuple[str, ...]
    checked_at: str

    def at_least(self, rank: int) -> bool:
        return self.rank >= rank

    @property
    def is_worst(self) -> bool:
        return self.rank == 0

    def snapshot(self) -> dict:
        """What is stored on every application: the credit check as it was."""
        data = dataclasses.asdict(self)
        data["records"] = list(self.records)
        data["reasons"] = list(self.reasons)
        return data


def _record_dict(r: DishonestyRecord) -> dict:
    return {"id": r.id, "severity": r.severity, "reason": r.reason, "authority": r.authority,
            "start": r.start.isoformat(), "end": r.end.isoformat() if r.end else None}


def effective_tier(subject: Subject, on: _dt.date | None = None,
                   scheme: TierScheme | None = None) -> EffectiveTier:
    """The effective tier of `subject` under the active scheme on date `on` (today)."""
    on = on or _dt.date.today()
    scheme = scheme or active_scheme()
    tiers = list(scheme.tiers.order_by(Tier.rank))
    worst, top = tiers[0], tiers[-1]
    reasons: list[str] = []

    if subject.tier_id is None:
        tier = tier_by_code(scheme, scheme.default_tier_code) or tiers[len(tiers) // 2]
        reasons.append(f"未导入信用等级，按{scheme.name}默认等级“{tier.label}”")
        imported = None
    else:
        imported_tier = subject.tier
        imported = imported_tier.code
        tier = map_tier(imported_tier, scheme)
        if tier.id != imported_tier.id:
            reasons.append(f"导入等级“{imported_tier.label}”属于{imported_tier.scheme.name}，"
                           f"按相对位置对应为“{tier.label}”")
        else:
            reasons.append(f"导入等级“{tier.label}”（来源：{subject.source or '未注明'}）")

    records = list(subject.dishonesty_records.where(DishonestyRecord.active_clause(on))
                   .order_by(DishonestyRecord.start))
    severe = [r for r in records if r.severity == SEVERE]
    if severe:
        if tier.id != worst.id:
            reasons.append(f"存在 {len(severe)} 条生效的严重失信记录，等级降为“{worst.label}”")
        else:
            reasons.append(f"存在 {len(severe)} 条生效的严重失信记录")
        reasons.append("列入严重失信主体名单")
        tier = worst
    general = len(records) - len(severe)
    if general:
        reasons.append(f"存在 {general} 条生效的一般失信记录（不适用容缺受理和告知承诺的事项可能受限）")

    return EffectiveTier(
        subject_code=subject.code, subject_name=subject.name, subject_kind=subject.kind,
        scheme=scheme.code, code=tier.code, label=tier.label, colour=tier.colour,
        rank=tier.rank, top_rank=top.rank, imported=imported, source=subject.source,
        updated_at=subject.tier_updated_at.isoformat() if subject.tier_updated_at else None,
        blacklisted=bool(severe), has_dishonesty_record=bool(records),
        records=tuple(_record_dict(r) for r in records), reasons=tuple(reasons),
        checked_at=_dt.datetime.now().isoformat(timespec="seconds"),
    )
