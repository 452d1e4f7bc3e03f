"""Translations for xinyipi's own pages.

The product is Chinese first: source strings are written in Chinese and shown as
they are under ``zh_CN``; ``translations/en`` holds the English catalog. Flask-Admin's
own (English) strings get a zh_CN catalog of ours in ``translations/zh_CN/…/admin.po``
so that no English leaks into the staff pages.

Python code uses ``_`` / ``_l`` from here; templates use ``_t(…)``.
"""
from __future__ import annotations

import os

from flask import current_app, has_request_context, request, session
from flask_babel import Domain

TRANSLATIONS = os.path.join(os.path.dirname(__file__), "translations")
LOCALES = {"zh_CN": "中文", "en": "English"}

domain = Domain(translation_directories=TRANSLATIONS, domain="xinyipi")
_ = gettext = domain.gettext
_l = lazy_gettext = domain.lazy_gettext
ngettext = domain.ngettext


def select_locale() -> str:
    """`?lang=zh_CN|en` switches and is remembered in the session; zh_CN is the default."""
    if has_request_context():
        lang = request.args.get("lang")
        if lang in LOCALES:
            session["lang"] = lang
        if session.get("lang") in LOCALES:
            return session["lang"]
    return current_app.config.get("XINYIPI_LOCALE", "zh_CN")


def html_lang() -> str:
    """The page's `lang` attribute for the current locale (zh-CN or en)."""
    from flask_babel import get_locale
    locale = get_locale()
    return "zh-CN" if locale is None or locale.language == "zh" else str(locale).replace("_", "-")


def init_app(app) -> None:
    app.jinja_env.globals.update(_t=gettext, _tn=ngettext, xinyipi_locales=LOCALES, xinyipi_lang=html_lang)
