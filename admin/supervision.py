"""Supervision after approval (批后监管): the pages of verification and inspection items and of
random-inspection draws (双随机抽取).

- `SupervisionView` (/admin/xinyipi_supervision/): the items (filters: kind, state, overdue,
  mine); one item's page with the case, the commitment signed and the result form. A failed
  result revokes the case, records the dishonesty and recomputes the tier
  (`plugin.supervision.service.record_result`, one transaction).
- `DrawView` (/admin/xinyipi_inspection_draw/): the draws; a new draw previewed first
  (`service.preview`: a seed from the system, the preview audited) and then committed
  (`service.draw_previewed`: the previewed scope, day and seed, never the form's); one draw's page
  with its per-tier table, the drawn cases with their inspectors and a replay check. Nobody types
  a seed: a form that carries one is refused.

Supervisors (and system administrators) draw and record; reviewers and approvers may read.
"""
from __future__ import annotations

import datetime as _dt

from flask import Response, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from admin.auth import APPROVER, REVIEWER, SUPERVISOR, SYSADMIN, RoleAccess, current_staff, forbidden
from admin.workbench import days_left, staff_names, who
from plugin.applications import service
from plugin.applications.materials import commitments_of
from plugin.applications.models import Application
from plugin.applications.progress import PATHS, business_today, local_time
from plugin.catalog.models import Matter
from plugin.credit.models import SEVERE, SEVERITIES, DishonestyRecord, Subject, TierChange
from plugin.i18n import _, _l
from plugin.urls import row_id
from plugin.supervision import service as supervision
from plugin.supervision.models import (KINDS, PENDING, STATES, VERIFICATION, InspectionDraw,
                                       SupervisionItem)

SUPERVISION_CATEGORY = _l("批后监管")
READERS = frozenset({SUPERVISOR, REVIEWER, APPROVER})
WRITERS = frozenset({SUPERVISOR})
PAGE_SIZE = 200
RESULTS = {"passed": _l("合格"), "failed": _l("不合格")}


def fmt_time(moment) -> str:
    local = local_time(moment)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def _helpers() -> dict:
    from admin.cases import status_label, tier_badge
    return {"tier_badge": tier_badge, "status_label": status_label, "fmt_time": fmt_time, "paths": PATHS,
            "kinds": KINDS, "states": STATES}


def may_record(user, item: SupervisionItem) -> bool:
    """Whether the user may record this item's result (the service decides in the end)."""
    if user is None or item.state != PENDING:
        return False
    if user.role == SYSADMIN:
        return True
    return user.role == SUPERVISOR and (item.kind == VERIFICATION or item.assignee == user.username)


class SupervisionView(RoleAccess, BaseView):
    """核查与抽查: the supervision items and recording their results."""

    roles = READERS
    write_roles = WRITERS

    def _query(self):
        return (SupervisionItem.select(SupervisionItem, Application.id, Application.number, Application.status,
                                       Matter.id, Matter.name, Matter.code, Subject.id, Subject.name, Subject.code)
                .join(Application, on=(SupervisionItem.application == Application.id))
                .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
                .join(Subject, on=(Application.subject == Subject.id)))

    @expose("/")
    def index(self):
        user = current_staff()
        today = business_today()
        kind = request.args.get("kind", "")
        kind = kind if kind in KINDS else ""
        state = request.args.get("state", PENDING)
        state = state if state in STATES or state == "all" else PENDING
        overdue = request.args.get("overdue") == "1"
        mine = request.args.get("mine") == "1"
        query = self._query()
        if kind:
            query = query.where(SupervisionItem.kind == kind)
        if state != "all":
            query = query.where(SupervisionItem.state == state)
        if overdue:
            query = query.where((SupervisionItem.state == PENDING) & (SupervisionItem.due_date < today))
        if mine:
            query = query.where(SupervisionItem.assignee == user.username)
        total = query.count()
        rows = [{"item": i, "days_left": days_left(today, i.due_date) if i.state == PENDING else None}
                for i in query.order_by(SupervisionItem.due_date, SupervisionItem.id).limit(PAGE_SIZE)]
        names = staff_names([r["item"].assignee for r in rows] + [r["item"].recorded_by for r in rows])
        return self.render("xinyipi/supervision/items.html", rows=rows, total=total, kind=kind, state=state,
                           overdue=overdue, mine=mine, who=lambda u: who(u, names), **_helpers())

    # -- one item -----------------------------------------------------------------------------

    def _render_item(self, item_id: int, form: dict | None = None, alert: str | None = None,
                     error: str | None = None, status: int = 200):
        item = SupervisionItem.get_or_none(SupervisionItem.id == item_id)
        if item is None:
            return Response(self.render("xinyipi/400.html", message=_("监管事项 %(id)s 不存在", id=item_id)),
                            status=404)
        user = current_staff()
        case = service.get(item.application.number)
        today = business_today()
        names = staff_names([item.assignee, item.recorded_by])
        body = self.render(
            "xinyipi/supervision/item.html", item=item, case=case, commitments=commitments_of(case),
            records=list(DishonestyRecord.select().where(DishonestyRecord.case_number == case.number)
                         .order_by(DishonestyRecord.id)),
            changes=list(TierChange.select().where(TierChange.case_number == case.number).order_by(TierChange.id)),
            others=list(SupervisionItem.select().where((SupervisionItem.application == case.id)
                                                       & (SupervisionItem.id != item.id)).order_by(SupervisionItem.id)),
            days_left=days_left(today, item.due_date) if item.state == PENDING else None,
            may_record=may_record(user, item), me=user, who=lambda u: who(u, names),
            form=form or {"result": "", "note": "", "severity": SEVERE}, severities=SEVERITIES, results=RESULTS,
            alert=alert, error=error, **_helpers())
        return Response(body, status=status)

    @expose("/item/<rowid:item_id>/")
    def item(self, item_id):
        return self._render_item(item_id)

    @expose("/item/<rowid:item_id>/result", methods=("POST",))
    def record(self, item_id):
        user = current_staff()
        if not user.has_role(WRITERS):
            return forbidden()
        form = {"result": request.form.get("result", ""), "note": request.form.get("note", ""),
                "severity": request.form.get("severity") or SEVERE}
        if form["result"] not in RESULTS:
            return self._render_item(item_id, form, error=_("请选择核查（检查）结果：合格或不合格。"), status=400)
        passed = form["result"] == "passed"
        actor = service.Actor.staff(user.username, user.role)
        try:
            item = supervision.record_result(item_id, passed, form["note"], actor, severity=form["severity"],
                                             override=user.role == SYSADMIN)
        except service.NotAllowed as e:
            return self._render_item(item_id, form, alert=str(e), status=403)
        except service.Conflict as e:
            return self._render_item(item_id, form, alert=_("结果未保存：%(reason)s", reason=str(e)), status=409)
        except (supervision.SupervisionError, service.ApplicationError) as e:
            if SupervisionItem.get_or_none(SupervisionItem.id == item_id) is None:
                return self._render_item(item_id)
            return self._render_item(item_id, form, error=str(e), status=400)
        if passed:
            flash(_("已记录：%(kind)s合格。", kind=_(item.kind_label)), "success")
        else:
            flash(_("已记录：%(kind)s不合格。办件 %(n)s 已撤销许可，失信记录已记入信用档案，信用等级已重新计算。",
                    kind=_(item.kind_label), n=item.application.number), "warning")
        return redirect(url_for(".item", item_id=item.id))


# --- random-inspection draws --------------------------------------------------------------------

def _matters():
    return list(Matter.select(Matter.id, Matter.code, Matter.name).order_by(Matter.code))


def parse_draw_form(form) -> tuple[dict, dict, tuple | None]:
    """(values as typed, errors by field, (matter code or None, date) when valid). A seed is never
    taken from a person: a form that carries one is refused."""
    values = {"matter": (form.get("matter") or "").strip(), "on_date": (form.get("on_date") or "").strip()}
    errors = {}
    if (form.get("seed") or "").strip():
        errors["seed"] = _("随机种子由系统生成，不能指定：已拒绝。")
    matter = values["matter"] or None
    if matter and not Matter.select().where(Matter.code == matter).exists():
        errors["matter"] = _("事项 %(code)s 不存在", code=matter)
    on = None
    try:
        on = _dt.date.fromisoformat(values["on_date"])
    except ValueError:
        errors["on_date"] = _("请填写有效的抽查基准日（格式 YYYY-MM-DD）。")
    else:
        if on > business_today():
            errors["on_date"] = _("抽查基准日不能晚于今天。")
    return values, errors, (None if errors else (matter, on))


def _tier_table(ratios: dict, population: list, drawn_tiers: list[str]) -> list[dict]:
    return [{"tier": tier, "ratio": ratio, "population": sum(1 for _id, t in population if t == tier),
             "drawn": sum(1 for t in drawn_tiers if t == tier)} for tier, ratio in ratios.items()]


class DrawView(RoleAccess, BaseView):
    """双随机抽取: the draws, previewing and committing a new one, and checking one by replaying it."""

    roles = READERS
    write_roles = WRITERS

    def _index(self, values=None, errors=None, preview=None, alert=None, status=200):
        draws = list(InspectionDraw.select().order_by(InspectionDraw.created_at.desc(), InspectionDraw.id.desc())
                     .limit(PAGE_SIZE))
        matters = _matters()
        matter_names = {m.code: m.name for m in matters}
        values = values or {"matter": "", "on_date": business_today().isoformat()}
        body = self.render("xinyipi/supervision/draws.html", draws=draws, matters=matters,
                           matter_names=matter_names, values=values, errors=errors or {}, preview=preview,
                           alert=alert, may_draw=self.may_write(), who=lambda u: who(u, staff_names([u])),
                           **_helpers())
        return Response(body, status=status)

    @expose("/")
    def index(self):
        return self._index()

    def _preview(self, plan, preview_id: int) -> dict:
        cases = {a.id: a for a in Application.select(Application, Matter, Subject).join(Matter).switch(Application)
                 .join(Subject).where(Application.id.in_([d.application_id for d in plan.drawn]))}
        names = staff_names(plan.inspectors)
        return {"plan": plan, "id": preview_id, "counts": plan.counts(), "sha": plan.population_sha256,
                "drawn": [{"case": cases[d.application_id], "tier": d.tier, "inspector": who(d.inspector, names)}
                          for d in plan.drawn]}

    @expose("/preview", methods=("POST",))
    def preview(self):
        if not self.may_write():
            return forbidden()
        values, errors, parsed = parse_draw_form(request.form)
        if parsed is None:
            return self._index(values, errors, alert=errors.get("seed") or _("抽取条件有误，请按提示修改。"), status=400)
        try:
            plan, preview_id = supervision.preview(*parsed, current_staff().username)
        except supervision.SupervisionError as e:
            return self._index(values, errors, alert=str(e), status=400)
        return self._index(values, preview=self._preview(plan, preview_id))

    @expose("/new", methods=("POST",))
    def new(self):
        """Make the previewed draw: which one is the preview's id; scope, day and seed are the
        preview's as audited (whatever else the form says)."""
        if not self.may_write():
            return forbidden()
        if (request.form.get("seed") or "").strip():
            return self._index(alert=_("随机种子由系统生成，不能指定：已拒绝。"), status=400)
        user = current_staff().username
        try:
            record = supervision.draw_previewed(row_id(request.form.get("preview")), user)
        except supervision.PopulationChanged:
            shown = supervision.previewed(row_id(request.form.get("preview")), user).detail
            return self._index({"matter": shown["matter"] or "", "on_date": shown["on_date"]}, status=409, alert=_(
                "预览之后抽取范围发生了变化（有办件新准予许可或已撤销），未抽取。请重新预览，核对后再确认。"))
        except supervision.PreviewNotFound:
            return self._index(alert=_("没有找到您的这次预览：请先预览，再确认抽取。"), status=400)
        except supervision.AlreadyDrawn as e:
            return self._index(alert=_("这次预览已经抽取过（批次 #%(id)s），不能再抽一次；如需新的抽取，请重新预览。",
                                       id=e.draw_id), status=409)
        except supervision.SupervisionError as e:
            return self._index(alert=str(e), status=400)
        flash(_("已完成抽取：范围内 %(p)s 件，抽中 %(d)s 件，随机种子 %(s)s。", p=record.population_count,
                d=record.drawn_count, s=record.seed), "success")
        return redirect(url_for(".draw", draw_id=record.id))

    @expose("/draw/<rowid:draw_id>/")
    def draw(self, draw_id):
        record = InspectionDraw.get_or_none(InspectionDraw.id == draw_id)
        if record is None:
            return Response(self.render("xinyipi/400.html", message=_("抽取批次 %(id)s 不存在", id=draw_id)),
                            status=404)
        items = list(SupervisionItem.select(SupervisionItem, Application, Matter, Subject)
                     .join(Application, on=(SupervisionItem.application == Application.id))
                     .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
                     .join(Subject, on=(Application.subject == Subject.id))
                     .where(SupervisionItem.draw == record.id).order_by(SupervisionItem.id))
        replay = None
        if request.args.get("replay") == "1":
            again = supervision.replay(record)
            stored = sorted((i.application_id, i.tier_code, i.assignee) for i in items)
            replayed = sorted((d.application_id, d.tier, d.inspector) for d in again)
            replay = {"same": stored == replayed, "count": len(again),
                      "missing": [r for r in stored if r not in replayed],
                      "extra": [r for r in replayed if r not in stored]}
        names = staff_names([i.assignee for i in items] + list(record.inspectors) + [record.created_by])
        matter = Matter.get_or_none(Matter.code == record.matter_code) if record.matter_code else None
        from plugin.supervision.service import DrawPlan
        sha = DrawPlan(record.matter_code, record.on_date, record.seed, record.scheme, record.ratios,
                       record.population, record.inspectors, []).population_sha256
        return self.render("xinyipi/supervision/draw.html", record=record, items=items, matter=matter,
                           tiers=_tier_table(record.ratios, record.population, [i.tier_code for i in items]),
                           replay=replay, sha=sha, previews=supervision.previews_before(record),
                           who=lambda u: who(u, names), **_helpers())


def register(admin) -> None:
    admin.add_view(SupervisionView(name=_l("核查与抽查"), category=SUPERVISION_CATEGORY,
                                   endpoint="xinyipi_supervision"))
    admin.add_view(DrawView(name=_l("双随机抽取"), category=SUPERVISION_CATEGORY,
                            endpoint="xinyipi_inspection_draw"))
