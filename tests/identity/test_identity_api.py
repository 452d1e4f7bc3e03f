"""Attacks on `/api/v1/subjects/<code>/tier` over real HTTP: without the platform token nothing is
disclosed (not even whether a code is known); with it an organisation's full snapshot, and a natural
person's tier only (no name, no dishonesty records, however the request is made)."""
from __future__ import annotations

import datetime as _dt
import json
import random

import pytest
import requests

from plugin.credit.codes import make_id_number
from plugin.credit.models import Subject, Tier, TierScheme
from tests.helpers import add_record, demo_code
from tests.identity.conftest import make_app, serving

TOKEN = "platform-token-0123456789"
BLACK = demo_code("black", "严重")


def _person_with_record() -> Subject:
    tier = Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == "orange")).get()
    code = make_id_number(random.Random(12), birth=_dt.date(1985, 3, 9))
    subject = Subject.create(code=code, name="符秘密", kind="person", tier=tier, source="测试")
    add_record(subject, "严重", reason="拖欠农民工工资（隐私）")
    return subject


@pytest.fixture
def api(seeded, database_url, tmp_path):
    with serving(make_app(database_url, tmp_path, XINYIPI_API_TOKEN=TOKEN)) as url:
        yield url


def _leaks(body: str, *secrets) -> list[str]:
    return [s for s in secrets if s in body]


def test_without_the_token_nothing_is_disclosed(api):
    person = _person_with_record()
    black = Subject.get(Subject.code == BLACK)
    for code in (BLACK, person.code, "91460100QJWYLF5568", "110105199001010011"):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN},
                        {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}):
            r = requests.get(f"{api}/api/v1/subjects/{code}/tier", headers=headers)
            assert r.status_code == 401, (code, headers, r.status_code)
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
            assert not _leaks(r.text, black.name, person.name, "严重", "records", "tier"), r.text
            assert "访问令牌" in r.json()["error"]


def test_with_the_token_an_organisation_gets_its_full_snapshot(api):
    black = Subject.get(Subject.code == BLACK)
    r = requests.get(f"{api}/api/v1/subjects/{BLACK}/tier", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    data = r.json()
    assert data["subject_name"] == black.name and data["blacklisted"] is True
    assert data["records"] and data["records"][0]["severity"] == "严重"


def test_a_natural_person_gets_the_tier_only_even_with_the_token(api):
    person = _person_with_record()
    for code in (person.code, person.code.lower()):
        r = requests.get(f"{api}/api/v1/subjects/{code}/tier", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        data = r.json()
        assert set(data) == {"subject_code", "kind", "scheme", "code", "label", "rank", "top_rank", "checked_at"}
        assert data["kind"] == "person" and data["code"] == "black"        # the severe record caps the tier …
        body = json.dumps(data, ensure_ascii=False) + r.text
        assert not _leaks(body, person.name, "拖欠农民工工资", "严重", "符"), body   # … and says nothing more


def test_unknown_and_invalid_codes_with_the_token(api):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = requests.get(f"{api}/api/v1/subjects/91460100QJWYLF5567/tier", headers=auth)
    assert r.status_code == 400 and "校验" in r.json()["error"]
    r = requests.get(f"{api}/api/v1/subjects/110105199001010011/tier", headers=auth)
    assert r.status_code in (400, 404)


def test_the_endpoint_is_off_without_a_configured_token(seeded, database_url, tmp_path):
    with serving(make_app(database_url, tmp_path)) as url:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
            r = requests.get(f"{url}/api/v1/subjects/{BLACK}/tier", headers=headers)
            assert r.status_code == 403 and "XINYIPI_API_TOKEN" in r.json()["error"]
            assert Subject.get(Subject.code == BLACK).name not in r.text
