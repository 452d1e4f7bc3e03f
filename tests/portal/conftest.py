"""Portal test fixtures: the standalone app on the seeded database, applicants signed in through
the real registration and sign-in pages, and small real PDF/PNG/JPEG files."""
from __future__ import annotations

import io
import re

import pytest

from plugin.portal.models import ApplicantAccount
from tests.helpers import bound_account, demo_code

PASSWORD = "portal-pass-1"
# The smallest files of each kind that the portal's type check accepts (magic bytes).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def make_app(database_url, tmp_path, **config):
    from plugin import create_app
    settings = {"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test",
                "WTF_CSRF_ENABLED": False, "XINYIPI_UPLOAD_DIR": str(tmp_path / "uploads")}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def portal_app(seeded, database_url, tmp_path):
    return make_app(database_url, tmp_path)


def account_for(code: str, password: str = PASSWORD) -> ApplicantAccount:
    """A (verified) account for an existing subject: registered through the real registration, its
    binding approved as a staff review approves it."""
    return bound_account(code, password)


def sign_in_applicant(client, code: str, password: str = PASSWORD):
    account_for(code, password)
    r = client.post("/portal/login", data={"code": code, "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return r


@pytest.fixture
def applicant(portal_app):
    """``applicant(tier, severity=None)`` → a test client signed in as that named demo subject."""
    def make(tier: str, severity=None):
        client = portal_app.test_client()
        sign_in_applicant(client, demo_code(tier, severity))
        client.code = demo_code(tier, severity)
        return client
    return make


def file(data: bytes = PDF, name: str = "材料.pdf"):
    return (io.BytesIO(data), name)


def start_draft(client, matter_code: str) -> str:
    r = client.post(f"/portal/matters/{matter_code}/apply")
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    return re.search(r"/portal/cases/([A-Z0-9]+)/draft", r.headers["Location"]).group(1)


def file_inputs(client, number: str) -> list[str]:
    page = client.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    return re.findall(r'name="file_(\w+)"', page)


def required_inputs(client, number: str) -> list[str]:
    """The materials a draft must upload (file inputs marked aria-required)."""
    page = client.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    return re.findall(r'name="file_(\w+)"[^>]*aria-required="true"', page)


CONTACT = {"contact_name": "王小明", "contact_phone": "0898-66668888", "description": "新开门店"}


def submit(client, number: str, codes=None, **extra):
    """Submit the draft with the contact details and a PDF for each material in `codes`
    (default: every material that must be uploaded)."""
    codes = required_inputs(client, number) if codes is None else codes
    data = dict(CONTACT, action="submit", **extra)
    for code in codes:
        data[f"file_{code}"] = file(PDF + code.encode(), f"{code}.pdf")
    return client.post(f"/portal/cases/{number}/draft", data=data, content_type="multipart/form-data")


def case_page(client, number: str) -> str:
    r = client.get(f"/portal/cases/{number}")
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def applicant_task_link(page: str) -> str | None:
    found = re.search(r'href="(/portal/cases/[A-Z0-9]+/tasks/[^"]+)"', page)
    return found.group(1) if found else None
