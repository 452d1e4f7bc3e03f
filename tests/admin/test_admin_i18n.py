"""Chinese first: no English leaks into the staff pages under zh_CN; English is complete under en;
the compiled catalogs are the ones their .po files give."""
from __future__ import annotations

from html.parser import HTMLParser
import io
import os
import re

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from plugin.i18n import TRANSLATIONS
from plugin.messages import extract_messages
from tests.helpers import sign_in

# ASCII words that may stand in a Chinese page: product names, formats, codes
ALLOWED = {"English", "BPMN", "PDF", "CSV", "JSON", "XML", "ID", "SHA-256", "UTC", "bpmn-js", "SpiffWorkflow",
           "GB", "GB/T", "xinyipi"}
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'’]+(?: [A-Za-z'’?!.,]+){0,8}")


def _po_files():
    for dirpath, _dirs, files in os.walk(TRANSLATIONS):
        for name in files:
            if name.endswith(".po"):
                yield os.path.join(dirpath, name)


@pytest.mark.parametrize("po", sorted(_po_files()), ids=lambda p: os.path.relpath(p, TRANSLATIONS))
def test_compiled_catalog_is_current(po):
    with open(po, "rb") as f:
        catalog = read_po(f)
    fresh = io.BytesIO()
    write_mo(fresh, catalog, use_fuzzy=False)
    assert os.path.exists(po[:-3] + ".mo"), "run `xinyipi translations compile`"
    with open(po[:-3] + ".mo", "rb") as f:
        committed = read_mo(f)
    def pairs(catalog):
        return {str(m.id): str(m.string) for m in catalog if m.id}
    assert pairs(committed) == pairs(read_mo(io.BytesIO(fresh.getvalue()))), \
        "the .mo is stale: run `xinyipi translations compile`"


def test_every_string_has_an_english_translation():
    with open(os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "xinyipi.po"), "rb") as f:
        english = {m.id: m.string for m in read_po(f) if m.id}
    missing = sorted(str(m.id) for m in extract_messages() if m.id and not english.get(m.id))
    missing = [m for m in missing if m not in english or not english[m]]
    assert not missing, f"{len(missing)} untranslated (run `xinyipi translations update`): {missing[:20]}"


class _Text(HTMLParser):
    """The text a person sees or hears: text outside scripts and styles, and the attributes shown
    or read out (placeholder, title, aria-label, alt, value of buttons)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1
        attrs = dict(attrs)
        for name in ("placeholder", "title", "aria-label", "alt"):
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def _visible_text(page: str) -> list[str]:
    parser = _Text()
    # Flask-Admin keeps its filter definitions as JSON in hidden divs
    page = re.sub(r'<div[^>]*class="d-none"[^>]*>[^<]*</div>', " ", page)
    parser.feed(page)
    return parser.texts


def _leaks(page: str, allowed=frozenset()) -> list[str]:
    found = []
    for text in _visible_text(page):
        for word in ENGLISH.findall(text):
            word = word.strip(" .,?!")
            if word.isupper():              # codes (credit codes, matter codes) are data
                continue
            if re.fullmatch(r"[0-9a-f]+", word) and re.search(r"[0-9a-f]{6,}", text):   # checksums
                continue
            if len(word) >= 3 and word not in ALLOWED and word not in allowed:
                found.append(word)
    return found


def _staff_pages(app):
    """Every list, create and details page of the admin's views."""
    admin = app.extensions["xinyipi"].admin
    urls = ["/admin/"]
    for view in admin._views:
        if not view.endpoint.startswith("xinyipi_"):
            continue
        base = f"/admin/{view.endpoint}/"
        urls.append(base)
        if getattr(view, "can_create", False) and hasattr(view, "create_view"):
            urls.append(base + "new/")
        model = getattr(view, "model", None)
        if model is not None and getattr(view, "can_view_details", False):
            row = model.select().first()
            if row is not None:
                urls.append(f"{base}details/?id={row._pk}")
    return urls


def test_no_english_leaks_into_chinese_staff_pages(seeded, app):
    from plugin.credit.models import Tier
    from plugin.engine.models import ProcessDefinition
    # data may be ASCII: tier codes (red, A), process keys; the interface around them may not
    from plugin.credit.models import TierScheme
    data = {c for (c,) in Tier.select(Tier.code).tuples()} | {c for (c,) in TierScheme.select(TierScheme.code).tuples()} | {
        word for (k,) in ProcessDefinition.select(ProcessDefinition.key).tuples() for word in k.split("_")}
    from plugin.accounts import StaffUser
    data |= {u for (u,) in StaffUser.select(StaffUser.username).tuples()}
    data |= {u for (u,) in ProcessDefinition.select(ProcessDefinition.published_by).tuples()}
    client = app.test_client()
    sign_in(client, "admin")
    pages = 0
    for url in _staff_pages(app):
        r = client.get(url)
        if r.status_code != 200:
            continue
        pages += 1
        leaks = _leaks(r.get_data(as_text=True), data)
        assert not leaks, f"{url}: {sorted(set(leaks))[:15]}"
    assert pages >= 10
    assert not _leaks(app.test_client().get("/admin/login").get_data(as_text=True))


def test_english_is_switchable(seeded, app):
    client = app.test_client()
    sign_in(client, "admin")
    page = client.get("/admin/xinyipi_matter/?lang=en").get_data(as_text=True)
    assert "Matter" in page and "Create" in page
    assert "事项名称" not in page          # column labels come from the models' Chinese names, translated
    page = client.get("/admin/xinyipi_matter/?lang=zh_CN").get_data(as_text=True)
    assert "事项名称" in page
