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


# ---------------------------------------------------------------------------------------------
# keeping the catalogs (`xinyipi translations update|compile`)
# ---------------------------------------------------------------------------------------------
KEYWORDS = {"_": None, "_l": None, "_t": None, "gettext": None, "lazy_gettext": None,
            "_tn": (1, 2), "ngettext": (1, 2)}
SOURCE_DIRS = ("plugin", "admin")


def _project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extract_messages():
    """Every translatable string of xinyipi: `_…()` calls in Python and templates, and the Chinese
    verbose names, help texts and choice labels of the models (shown as column labels)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="xinyipi", locale=None)
    root = _project_root()
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options_map = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
                os.path.join(root, folder), method_map=method_map, options_map=options_map,
                keywords=KEYWORDS, strip_comment_tags=True):
            if "node_modules" in filename or "/static/vendor/" in filename:
                continue
            catalog.add(message, locations=[(f"{folder}/{filename}", lineno)], context=context)
    for text, where in model_strings():
        catalog.add(text, locations=[(where, 0)])
    return catalog


def model_strings():
    """(text, model.field) for every verbose name, help text and choice label of our models."""
    from plugin.migrations import available
    available()                      # imports every model module through the migrations …
    import plugin.identity.models    # noqa: F401  … and those whose migration states its DDL itself
    import plugin.notifications      # noqa: F401
    seen = set()
    for model in _all_models():
        for name, field in model._meta.fields.items():
            where = f"{model.__name__}.{name}"
            texts = [field.verbose_name, field.help_text]
            texts += [label for _value, label in (field.choices or ())]
            for text in texts:
                if text and isinstance(text, str) and not text.isascii() and (text, where) not in seen:
                    seen.add((text, where))
                    yield text, where


def _all_models():
    from plugin.db import BaseModel

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)
    return sorted({m for m in walk(BaseModel) if hasattr(m, "_meta") and m._meta.table_name},
                  key=lambda m: m.__name__)


def update_catalogs() -> dict[str, int]:
    """Merge the extracted strings into translations/en/…/xinyipi.po (keeping what is translated)."""
    from babel.messages.pofile import read_po, write_po
    template = extract_messages()
    path = os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "xinyipi.po")
    if os.path.exists(path):
        with open(path, "rb") as f:
            catalog = read_po(f, locale="en")
    else:
        from babel.messages.catalog import Catalog
        catalog = Catalog(locale="en", project="xinyipi")
    catalog.update(template, no_fuzzy_matching=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=True)
    untranslated = sum(1 for m in catalog if m.id and not m.string)
    return {"messages": len(catalog), "untranslated": untranslated}


def compile_catalogs() -> list[str]:
    """Compile every .po under translations/ to its .mo."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    done = []
    for dirpath, _dirs, files in os.walk(TRANSLATIONS):
        for name in files:
            if name.endswith(".po"):
                po = os.path.join(dirpath, name)
                with open(po, "rb") as f:
                    catalog = read_po(f)
                with open(po[:-3] + ".mo", "wb") as f:
                    write_mo(f, catalog, use_fuzzy=False)
                done.append(os.path.relpath(po, TRANSLATIONS))
    return sorted(done)
