"""xinyipi (信易批): credit-tiered approval for government services, on SpiffWorkflow.

``XinYiPi`` mounts it into a host Flask app; ``create_app`` builds the standalone app.
"""
from __future__ import annotations

from flask import Flask, redirect, url_for

from plugin.extension import XinYiPi

__all__ = ["XinYiPi", "create_app"]


def create_app(config: dict | None = None) -> Flask:
    """The standalone app: the extension, its admin at /admin, and a home that leads citizens to the
    portal (办事大厅, /portal)."""
    app = Flask("xinyipi", instance_relative_config=True)
    if config:
        app.config.update(config)
    XinYiPi(app).standalone = True

    @app.get("/")
    def home():
        return redirect(url_for("xinyipi_portal.index"))

    return app
