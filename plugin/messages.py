"""Keeping the message catalogs (`xinyipi translations update|compile`): a developer's tool, apart
from `plugin.i18n` (which every page uses) so that the runtime's i18n imports no model module."""
from __future__ import annotations

import os

from plugin.i18n import TRANSLATIONS

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
    import admin                     # noqa: F401  the admin imports every model module …
    import plugin.identity.models    # noqa: F401  … and these the admin does not
    import plugin.notifications      # noqa: F401
    import plugin.portal.models      # noqa: F401
    import plugin.work               # noqa: F401
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
