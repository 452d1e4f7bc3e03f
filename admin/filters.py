"""Filter options the admin's list views read from the data.

Flask-Admin reads a filter's options once, when the view is made (at app start, possibly before the
database has its tables). Options wrapped in `data_options` are empty then, and `FreshOptions`
re-reads them on every list request, so new departments, tiers or process keys appear at once.
"""
from __future__ import annotations

from flask import has_request_context

from plugin.catalog.models import Matter


def data_options(load):
    """Options from `load()`, read within a request only."""
    def options():
        return load() if has_request_context() else []
    options.from_data = True
    return options


class FreshOptions:
    """Mixin for model views: re-read options that come from the data on each list request."""

    def _get_filter_groups(self):
        if any(getattr(f.options, "from_data", False) for f in self._filters or ()):
            self._refresh_filters_cache()
        return super()._get_filter_groups()


def departments() -> list[tuple[str, str]]:
    """The implementing authorities (实施机关) of the catalog's matters."""
    return [(d, d) for (d,) in Matter.select(Matter.department).distinct().order_by(Matter.department).tuples()]
