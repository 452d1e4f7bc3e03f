"""How values look in the admin's lists and detail pages: Chinese, readable by screen readers."""
from __future__ import annotations

from flask_admin.model import typefmt
from markupsafe import Markup

from plugin.i18n import _


def _label(view, name) -> str:
    return str(getattr(view, "column_labels", {}).get(name, name))


def bool_icon(view, value, name) -> Markup:
    """A tick or a dash, with "启用：是" as its text alternative (Flask-Admin's says "active: true")."""
    fa = "fa-check-circle" if value else "fa-minus-circle"
    text = f"{_label(view, name)}：{_('是') if value else _('否')}"
    return Markup('<span class="fa {} " title="{}" aria-label="{}" role="img"></span>').format(fa, text, text)


LIST_FORMATTERS = {**typefmt.BASE_FORMATTERS, bool: bool_icon}
DETAIL_FORMATTERS = {
    **typefmt.DETAIL_FORMATTERS,
    bool: lambda view, value, name: _("是") if value else _("否"),
    type(None): lambda view, value, name: "—",
}
