"""Supervision after approval: verification of commitments, random inspection, results.

- `open_verification(app)`: every approval on the notification-commitment path (告知承诺) opens a
  verification item due in `XINYIPI_SUPERVISION_DAYS` working days (called by the application
  service inside the transaction that approves the case).
- `draw(...)`: random inspection (双随机): approved cases drawn per tier by the active scheme's
  inspection ratio, inspectors assigned at random from the active supervisors, all from one seed
  that is recorded with the population, the ratios and the inspector pool, so `replay(draw)` gives
  the same cases and inspectors again. The seed comes from `secrets`: people never choose it.
- `preview(...)` shows a draw before it is made, and is audited (who previewed which scope, on
  which day, with which seed): previewing until a convenient draw comes up would show in the
  audit log. `draw_previewed(preview id, …)` then makes exactly the draw that was shown, taking
  scope, day and seed from the audited preview, never from the request.
- `record_result(...)`: a supervisor records the result; a failed verification or inspection is a
  breach: the case is revoked, dishonesty recorded and the tier recomputed in one unit of work
  (`plugin.applications.service.revoke`, `plugin.credit.changes.record_breach`, `plugin.work`).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import random
import secrets

from plugin.accounts import StaffUser
from plugin.applications.models import APPROVED, Application
from plugin.applications.progress import business_today
from plugin.calendar import add_working_days
from plugin.catalog.models import Matter
from plugin.credit.models import SEVERE, SEVERITIES, DishonestyRecord, Subject
from plugin.credit.tiers import active_scheme_info, effective_tier
from plugin.db import now, write_transaction
from plugin.supervision.models import (CANCELLED, FAILED, INSPECTION, KINDS, PASSED, PENDING, VERIFICATION,
                                       InspectionDraw, SupervisionItem)
from plugin.work import unit_of_work

DEFAULT_DAYS = 20
SUPERVISOR = "supervisor"
PREVIEW_ACTION, DRAW_ACTION = "inspection.preview", "inspection.draw"


class SupervisionError(Exception):
    """A refusal a person can read."""


class PreviewNotFound(SupervisionError):
    """No preview of this person's with this id."""


class AlreadyDrawn(SupervisionError):
    """The preview was drawn already (`draw_id`)."""

    def __init__(self, message: str, draw_id: int):
        super().__init__(message)
        self.draw_id = draw_id


class PopulationChanged(SupervisionError):
    """The cases in range changed between a preview and its draw; `plan` is the draw as it would be now."""

    def __init__(self, message: str, plan: "DrawPlan"):
        super().__init__(message)
        self.plan = plan


def supervision_days() -> int:
    from flask import current_app, has_app_context
    if has_app_context():
        return int(current_app.config.get("XINYIPI_SUPERVISION_DAYS") or DEFAULT_DAYS)
    return DEFAULT_DAYS


# --------------------------------------------------------------------------------------------
# verification of notification-commitments (告知承诺核查)
# --------------------------------------------------------------------------------------------
def open_verification(app: Application) -> SupervisionItem:
    """The verification item of an approved commitment-path case (one per case)."""
    found = SupervisionItem.get_or_none((SupervisionItem.application == app.id)
                                        & (SupervisionItem.kind == VERIFICATION))
    if found is not None:
        return found
    return SupervisionItem.create(kind=VERIFICATION, application=app.id, tier_code=app.tier_code,
                                  due_date=add_working_days(business_today(), supervision_days()))


def cancel_open_items(app: Application, reason: str) -> int:
    """Close the pending items of a case that was revoked: there is nothing left to check."""
    return (SupervisionItem.update(state=CANCELLED, note=reason, recorded_by="system", recorded_at=now())
            .where((SupervisionItem.application == app.id) & (SupervisionItem.state == PENDING)).execute())


# --------------------------------------------------------------------------------------------
# random inspection (双随机)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Drawn:
    application_id: int
    tier: str
    inspector: str


@dataclasses.dataclass
class DrawPlan:
    """What a draw takes and gives: everything `replay` needs is in the first six fields."""

    matter_code: str | None
    on_date: _dt.date
    seed: int
    scheme: str
    ratios: dict[str, float]
    population: list[list]          # [[application id, tier code], …] sorted by id
    inspectors: list[str]
    drawn: list[Drawn]

    def counts(self) -> list[dict]:
        """Per tier, worst first: cases in range, ratio, cases drawn."""
        out = []
        for tier, ratio in self.ratios.items():
            n = sum(1 for _id, t in self.population if t == tier)
            out.append({"tier": tier, "ratio": ratio, "population": n,
                        "drawn": sum(1 for d in self.drawn if d.tier == tier)})
        return out

    @property
    def population_sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.population, separators=(",", ":")).encode()).hexdigest()


def select(population: list[list], ratios: dict[str, float], inspectors: list[str], seed: int) -> list[Drawn]:
    """The draw itself, a pure function of its inputs. For each tier in `ratios` order, the number
    drawn is the ratio of the tier's cases rounded up (a tier with cases and a ratio above zero is
    never skipped), chosen by one `random.Random(seed)` from the cases sorted by id; each drawn case
    then gets an inspector chosen by the same generator."""
    rng = random.Random(seed)
    drawn: list[Drawn] = []
    for tier, ratio in ratios.items():
        ids = sorted(case_id for case_id, t in population if t == tier)
        k = min(len(ids), math.ceil(len(ids) * ratio - 1e-9)) if ratio > 0 else 0
        for case_id in sorted(rng.sample(ids, k)):
            drawn.append(Drawn(case_id, tier, rng.choice(inspectors)))
    return drawn


def _population(matter_code: str | None, on: _dt.date, scheme) -> list[list]:
    """Approved cases (licences, not credit repairs) decided by the end of `on` and not under an open inspection, each with its
    subject's effective tier on `on` (the tier decides the ratio: the riskier, the likelier)."""
    end = _dt.datetime.combine(on + _dt.timedelta(days=1), _dt.time()).astimezone(_dt.timezone.utc).replace(tzinfo=None)
    open_inspections = (SupervisionItem.select(SupervisionItem.application)
                        .where((SupervisionItem.kind == INSPECTION) & (SupervisionItem.state == PENDING)))
    query = (Application.select(Application.id, Application.subject).join(Matter)
             .where((Application.status == APPROVED) & (Application.decided_at < end)
                    & (Application.path.is_null() | (Application.path != "repair"))  # a repair grants no licence
                    & Application.id.not_in(open_inspections)))
    if matter_code:
        query = query.where(Matter.code == matter_code)
    cases = list(query.order_by(Application.id).tuples())
    subject_ids = sorted({subject_id for _id, subject_id in cases})
    subjects, records = {}, {}
    for chunk in range(0, len(subject_ids), 500):  # a few queries, however many cases
        ids = subject_ids[chunk:chunk + 500]
        subjects.update({s.id: s for s in Subject.select().where(Subject.id.in_(ids))})
        for r in (DishonestyRecord.select().where(DishonestyRecord.subject.in_(ids) & DishonestyRecord.active_clause(on))
                  .order_by(DishonestyRecord.start)):
            records.setdefault(r.subject_id, []).append(r)
    tiers = {sid: effective_tier(subjects[sid], on, scheme=scheme, records=records.get(sid, [])).code
             for sid in subject_ids}
    return [[case_id, tiers[subject_id]] for case_id, subject_id in cases]


def inspector_pool() -> list[str]:
    return [u.username for u in StaffUser.select(StaffUser.username)
            .where((StaffUser.role == SUPERVISOR) & (StaffUser.active == True))  # noqa: E712
            .order_by(StaffUser.username)]


def new_seed() -> int:
    """A seed no one chose."""
    return secrets.randbelow(2 ** 31)


def plan(matter_code: str | None, on: _dt.date, *, seed: int | None = None) -> DrawPlan:
    """The draw for `matter_code` (None: every matter) on `on`, without storing anything. `seed` is
    for replaying a recorded draw and for tests; everyone else gets a new one."""
    if matter_code and not Matter.select().where(Matter.code == matter_code).exists():
        raise SupervisionError(f"事项 {matter_code} 不存在")
    inspectors = inspector_pool()
    if not inspectors:
        raise SupervisionError("没有可指派的检查人员：请先在“工作人员”中启用至少一名监管人员")
    scheme = active_scheme_info()
    ratios = {t.code: _ratio(t.id) for t in scheme.tiers}
    seed = new_seed() if seed is None else int(seed)
    population = _population(matter_code, on, scheme)
    return DrawPlan(matter_code or None, on, seed, scheme.code, ratios, population, inspectors,
                    select(population, ratios, inspectors, seed))


def _ratio(tier_id: int) -> float:
    from plugin.credit.models import Tier
    return float(Tier.get_by_id(tier_id).inspection_ratio or 0)


def _scope(p: DrawPlan) -> dict:
    return {"matter": p.matter_code, "on_date": p.on_date.isoformat(), "seed": p.seed, "scheme": p.scheme,
            "population": len(p.population), "population_sha256": p.population_sha256, "drawn": len(p.drawn)}


def preview(matter_code: str | None, on: _dt.date, actor: str) -> tuple[DrawPlan, int]:
    """The draw as it would be made now, with a new seed, nothing drawn; the preview is audited.
    Returns the plan and the preview's id (its audit row), which `draw_previewed` takes."""
    from plugin.applications.models import AuditEntry
    p = plan(matter_code, on)
    with write_transaction():
        entry = AuditEntry.create(actor=actor[:100], action=PREVIEW_ACTION, detail=_scope(p))
    return p, entry.id


def previewed(preview_id: int | None, actor: str):
    """The audit row of `actor`'s preview `preview_id` (SupervisionError when there is none)."""
    from plugin.applications.models import AuditEntry
    entry = AuditEntry.get_or_none((AuditEntry.id == preview_id) & (AuditEntry.action == PREVIEW_ACTION)
                                   & (AuditEntry.actor == actor[:100])) if preview_id is not None else None
    if entry is None:
        raise PreviewNotFound("没有找到您的这次预览：请先预览，再确认抽取")
    return entry


def previews_before(record: InspectionDraw) -> list:
    """The previews the drawer made of this draw's scope and day before making it, since their
    previous draw (audit rows, oldest first): many of them would mean the draw was shopped for."""
    from plugin.applications.models import AuditEntry
    previous = (InspectionDraw.select(InspectionDraw.created_at)
                .where((InspectionDraw.created_by == record.created_by) & (InspectionDraw.id < record.id))
                .order_by(InspectionDraw.id.desc()).first())
    query = AuditEntry.select().where((AuditEntry.action == PREVIEW_ACTION) & (AuditEntry.actor == record.created_by)
                                      & (AuditEntry.at <= record.created_at))
    if previous is not None:
        query = query.where(AuditEntry.at > previous.created_at)
    return [e for e in query.order_by(AuditEntry.id)
            if e.detail.get("matter") == record.matter_code and e.detail.get("on_date") == record.on_date.isoformat()]


def draw_previewed(preview_id: int | None, actor: str) -> InspectionDraw:
    """Make the draw `actor`'s preview showed: its scope, day and seed as audited. Refused when the
    preview is not theirs, was drawn already, or the cases in range changed since (PopulationChanged)."""
    shown = previewed(preview_id, actor).detail
    on = _dt.date.fromisoformat(shown["on_date"])
    done = (InspectionDraw.select(InspectionDraw.id)
            .where((InspectionDraw.seed == shown["seed"]) & (InspectionDraw.created_by == actor[:100])
                   & (InspectionDraw.on_date == on)).first())
    if done is not None:
        raise AlreadyDrawn(f"这次预览已经抽取过（批次 #{done.id}），不能再抽一次；如需新的抽取，请重新预览", done.id)
    fresh = plan(shown["matter"], on, seed=shown["seed"])
    if fresh.population_sha256 != shown["population_sha256"]:
        raise PopulationChanged("预览之后抽取范围发生了变化（有办件新准予许可或已撤销），未抽取。"
                                "请重新预览，核对后再确认", fresh)
    return draw(shown["matter"], on, actor, seed=shown["seed"], preview_id=preview_id)


def draw(matter_code: str | None, on: _dt.date, actor: str, *, seed: int | None = None,
         preview_id: int | None = None) -> InspectionDraw:
    """Draw and store: the draw with its inputs, one inspection item per drawn case, audited (the
    draw itself, and each drawn case). `seed` is for `draw_previewed` (the previewed seed) and the
    demo data; anyone else's draw gets a new one."""
    from plugin.applications.models import AuditEntry
    from plugin.applications.service import _audit, _write_audit
    p = plan(matter_code, on, seed=seed)
    due = add_working_days(on, supervision_days())
    with write_transaction():
        record = InspectionDraw.create(matter_code=p.matter_code, on_date=p.on_date, seed=p.seed, scheme=p.scheme,
                                       ratios=p.ratios, population=p.population, inspectors=p.inspectors,
                                       population_count=len(p.population), drawn_count=len(p.drawn),
                                       created_by=actor)
        AuditEntry.create(actor=actor[:100], action=DRAW_ACTION,
                          detail=dict(_scope(p), draw=record.id, preview=preview_id))
        apps = {a.id: a for a in Application.select().where(Application.id.in_([d.application_id for d in p.drawn]))}
        rows = []
        for d in p.drawn:
            SupervisionItem.create(kind=INSPECTION, application=d.application_id, draw=record, tier_code=d.tier,
                                   assignee=d.inspector, due_date=due)
            rows.append(_audit(apps[d.application_id], actor, "inspection_drawn", draw=record.id, seed=p.seed,
                               inspector=d.inspector, tier=d.tier))
        if rows:
            _write_audit(rows)
    return record


def replay(record: InspectionDraw) -> list[Drawn]:
    """The recorded draw computed again from its recorded inputs (for anyone checking it)."""
    return select(record.population, record.ratios, record.inspectors, record.seed)


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
BREACH_REASONS = {VERIFICATION: "告知承诺核查不实，违反承诺", INSPECTION: "双随机抽查不合格，违反承诺"}


def record_result(item_id: int, passed: bool, note: str, actor, severity: str = SEVERE,
                  override: bool = False) -> SupervisionItem:
    """Record a verification or inspection result. A failure revokes the case, records the
    dishonesty and recomputes the tier, in the transaction that records the result.

    `actor` is a staff `Actor` (plugin.applications.service); only supervisors record results, and
    an inspection only its assigned inspector (or a system administrator with `override`)."""
    from plugin.applications import service
    item = SupervisionItem.get_or_none(SupervisionItem.id == item_id)
    if item is None:
        raise SupervisionError(f"监管事项 {item_id} 不存在")
    if actor.kind != "staff" or (actor.role != SUPERVISOR and not override):
        raise service.NotAllowed("只有监管人员可以记录核查和检查结果")
    if item.kind == INSPECTION and item.assignee != actor.id and not override:
        raise service.NotAllowed(f"这次抽查指派给了 {item.assignee}，只有被指派的检查人员可以记录结果")
    note = (note or "").strip()
    if len(note) < 2:
        raise SupervisionError("请填写核查（检查）情况")
    if len(note) > 1000:
        raise SupervisionError("核查（检查）情况不能超过 1000 字")
    if not passed and severity not in SEVERITIES:
        raise SupervisionError(f"失信严重程度只能是：{'、'.join(SEVERITIES)}")
    state = PASSED if passed else FAILED
    # one unit of work: the result, the revocation, the dishonesty record and the tier change it
    # causes (recorded by the unit, cause "breach") commit together; the unit's actor is the
    # case's actor as the case's audit rows name it
    with unit_of_work(str(actor), "breach"):
        updated = (SupervisionItem.update(state=state, note=note, recorded_by=actor.id, recorded_at=now())
                   .where((SupervisionItem.id == item.id) & (SupervisionItem.state == PENDING)).execute())
        if updated != 1:
            fresh = SupervisionItem.get_by_id(item.id)
            raise service.Conflict(f"这项{item.kind_label}已由 {fresh.recorded_by} 记录为“{fresh.state_label}”，"
                                   f"本次记录未保存")
        app = Application.get_by_id(item.application_id)
        if passed:
            service._write_audit([service._audit(app, actor, f"{item.kind}_passed", item=item.id, note=note)])
        else:
            service._write_audit([service._audit(app, actor, f"{item.kind}_failed", item=item.id, note=note)])
            service.revoke(app, item.kind, f"{BREACH_REASONS[item.kind]}：{note}", actor, severity)
    return SupervisionItem.get_by_id(item.id)


def items(kind: str | None = None, state: str | None = PENDING, assignee: str | None = None):
    """Supervision items, soonest due first."""
    query = SupervisionItem.select(SupervisionItem, Application).join(Application)
    if kind:
        query = query.where(SupervisionItem.kind == kind)
    if state:
        query = query.where(SupervisionItem.state == state)
    if assignee:
        query = query.where(SupervisionItem.assignee == assignee)
    return query.order_by(SupervisionItem.due_date, SupervisionItem.id)


__all__ = ["KINDS", "open_verification", "cancel_open_items", "plan", "preview", "draw_previewed", "draw", "replay",
           "select", "record_result", "items", "SupervisionError", "PreviewNotFound", "AlreadyDrawn", "PopulationChanged", "DrawPlan", "Drawn"]
