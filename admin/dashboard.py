"""The admin home: the dashboard (智能看板).

Figures come from `plugin.applications.statistics.dashboard_figures` (aggregate SQL); this module
only lays them out as inline SVG charts (no JavaScript), each with a data table beside it.
"""
from __future__ import annotations

from flask import url_for
from flask_admin import AdminIndexView, expose

from admin.auth import ALL_STAFF, RoleAccess
from plugin.applications.progress import business_today
from plugin.applications.statistics import dashboard_figures
from plugin.i18n import _

CHART_WIDTH = 340
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, VALUE_WIDTH = 18, 7, 84, 40
STATUS_COLOUR = "#4a78b5"
TAKEN_COLOUR, LEGAL_COLOUR = "#2f9e6e", "#c9ced6"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def horizontal_bars(rows: list[dict], width: int = CHART_WIDTH) -> dict:
    """Layout of a horizontal bar chart: rows have label, value, colour."""
    top = max((r["value"] for r in rows), default=0) or 1
    span = width - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for i, row in enumerate(rows):
        y = i * (BAR_HEIGHT + BAR_GAP)
        bars.append({"label": row["label"], "value": _number(row["value"]), "colour": row["colour"],
                     "x": LABEL_WIDTH, "y": y, "w": round(span * row["value"] / top, 1), "h": BAR_HEIGHT,
                     "text_y": y + BAR_HEIGHT * 0.75})
    return {"width": width, "height": max(len(rows) * (BAR_HEIGHT + BAR_GAP), BAR_HEIGHT), "bars": bars}


def paired_bars(rows: list[dict], width: int = CHART_WIDTH) -> dict:
    """Two bars per row (taken vs legal working days), on one scale."""
    top = max([r["avg_taken"] for r in rows] + [r["avg_legal"] for r in rows], default=0) or 1
    span = width - LABEL_WIDTH - VALUE_WIDTH
    half = BAR_HEIGHT // 2 + 2
    groups = []
    for i, row in enumerate(rows):
        y = i * (2 * half + BAR_GAP + 4)
        groups.append({
            "label": str(row["label"]), "y": y, "label_y": y + half + 4,
            "bars": [
                {"kind": "taken", "colour": TAKEN_COLOUR, "y": y, "h": half - 1,
                 "w": round(span * row["avg_taken"] / top, 1), "value": _number(row["avg_taken"]),
                 "text_y": y + half - 3},
                {"kind": "legal", "colour": LEGAL_COLOUR, "y": y + half, "h": half - 1,
                 "w": round(span * row["avg_legal"] / top, 1), "value": _number(row["avg_legal"]),
                 "text_y": y + 2 * half - 3},
            ]})
    return {"width": width, "height": max(len(rows) * (2 * half + BAR_GAP + 4), BAR_HEIGHT),
            "x": LABEL_WIDTH, "groups": groups}


def column_bars(daily: list[dict], width: int = 640, height: int = 140) -> dict:
    """Layout of the daily submissions chart: one column per day, a date label every 5 days."""
    top = max((d["count"] for d in daily), default=0) or 1
    plot_h = height - 20
    step = width / max(len(daily), 1)
    columns = []
    for i, d in enumerate(daily):
        h = round(plot_h * d["count"] / top, 1)
        columns.append({"x": round(i * step + 1, 1), "w": round(step - 2, 1), "y": round(plot_h - h, 1), "h": h,
                        "day": d["day"], "count": d["count"],
                        "tick": i % 5 == 0 or i == len(daily) - 1, "tick_x": round(i * step + step / 2, 1)})
    return {"width": width, "height": height, "plot_h": plot_h, "top": top, "columns": columns}


class DashboardView(RoleAccess, AdminIndexView):
    roles = ALL_STAFF

    def _cases_view(self):
        return next((v for v in self.admin._views if v.endpoint == "xinyipi_application"), None)

    @expose("/")
    def index(self):
        from admin.workbench import workload_figures
        today = business_today()
        figures = dashboard_figures(today)
        work = workload_figures(today)
        cases = self._cases_view()
        status_chart = horizontal_bars([{"label": _(r["label"]), "value": r["count"], "colour": STATUS_COLOUR}
                                        for r in figures["by_status"]])
        tier_chart = horizontal_bars([{"label": r["label"], "value": r["count"], "colour": r["colour"]}
                                      for r in figures["by_tier"]])
        approved, instant = figures["approved"], figures["instant"]
        instant_chart = horizontal_bars([
            {"label": _("秒批"), "value": instant, "colour": "#d9363e"},
            {"label": _("其他路径"), "value": approved - instant, "colour": LEGAL_COLOUR}])
        pct = (lambda x: "—" if x is None else f"{x * 100:.1f}%")
        tables = {
            "status": [(_(r["label"]), r["count"]) for r in figures["by_status"]],
            "tier": [(f'{r["label"]}（{r["code"]}）', r["count"]) for r in figures["by_tier"]],
            "instant": [(_("准予许可"), approved), (_("其中秒批"), instant),
                        (_("秒批率"), pct(figures["instant_rate"]))],
            "timing": [(str(r["label"]), r["cases"], _number(round(r["avg_taken"], 1)),
                        _number(round(r["avg_legal"], 1)), r["saved"]) for r in figures["by_path"]],
            "daily": [(d["day"].isoformat(), d["count"]) for d in figures["daily"]],
        }
        return self.render(
            "xinyipi/dashboard.html", f=figures, w=work, tables=tables, status_chart=status_chart, tier_chart=tier_chart,
            instant_chart=instant_chart, timing_chart=paired_bars(figures["by_path"]),
            daily_chart=column_bars(figures["daily"]), taken_colour=TAKEN_COLOUR, legal_colour=LEGAL_COLOUR,
            case_url=(lambda n: url_for("xinyipi_application.case", number=n)) if cases else None,
            overdue_url=cases.quick_filter_url("overdue") if cases else None,
            due_soon_url=cases.quick_filter_url("due_soon") if cases else None,
            instant_rate=pct(figures["instant_rate"]),
            workbench_url=url_for("xinyipi_workbench.index") if self._has("xinyipi_workbench") else None,
            supervision_url=url_for("xinyipi_supervision.index") if self._has("xinyipi_supervision") else None)

    def _has(self, endpoint: str) -> bool:
        return any(v.endpoint == endpoint for v in self.admin._views)
