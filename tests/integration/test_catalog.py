"""The catalog on the seeded database: material dispositions per tier and path, the negative list,
per-tier promised limits and `xinyipi matters`."""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from plugin.catalog import (Material, MaterialRequirement, Matter, NegativeListEntry, is_closed_to,
                            is_on_negative_list, requirements_for)
from plugin.catalog.models import DEFERRABLE, OPTIONAL, REQUIRED
from plugin.catalog.requirements import DEFAULT_SUPPLEMENT_DAYS
from plugin.credit.codes import make_credit_code
from plugin.credit.importer import record_fingerprint
from plugin.credit.models import GENERAL, SEVERE, DishonestyRecord, Subject, Tier, TierScheme
from plugin.credit.tiers import activate_scheme, effective_tier
from seeds.loader import load_json

PATHS = ("instant", "tolerance", "commitment", "standard")
TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def haikou_tiers() -> list[str]:
    return [t.code for t in Tier.select().join(TierScheme).where(TierScheme.code == "haikou")]


def all_requirements():
    return list(MaterialRequirement.select(MaterialRequirement, Material, Matter)
                .join(Material).switch(MaterialRequirement).join(Matter))


def sweep(reqs):
    """(requirement, tier, path, MaterialDisposition) for every requirement in `reqs`, every Haikou
    tier and every path: one requirements_for() call per matter, tier and path."""
    by_matter: dict[int, list] = {}
    for req in reqs:
        by_matter.setdefault(req.matter_id, []).append(req)
    tiers = haikou_tiers()
    for matter_reqs in by_matter.values():
        matter = matter_reqs[0].matter
        for tier in tiers:
            for path in PATHS:
                got = {d.requirement_id: d for d in requirements_for(matter, tier, path=path)}
                for req in matter_reqs:
                    yield req, tier, path, got[req.id]


def disposition(matter: Matter, tier, material_code: str, path: str | None):
    rows = [d for d in requirements_for(matter, tier, path=path) if d.material_code == material_code]
    assert len(rows) == 1
    return rows[0]


_rng = random.Random(424242)


def new_subject(name: str, tier_code: str | None) -> Subject:
    tier = None
    if tier_code:
        tier = Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == tier_code)).get()
    return Subject.create(code=make_credit_code(_rng), name=name, kind="organisation", tier=tier,
                          source="测试", tier_updated_at=dt.datetime(2026, 1, 1))


def add_record(subject: Subject, severity: str, reason: str = "测试失信事由") -> DishonestyRecord:
    start = TODAY - 10 * DAY
    return DishonestyRecord.create(
        subject=subject, severity=severity, reason=reason, authority="海口市中级人民法院", start=start,
        end=TODAY + 365 * DAY,
        fingerprint=record_fingerprint(subject.code, severity, "海口市中级人民法院", start, reason))


def listed_matter(severity: str) -> tuple[Matter, NegativeListEntry]:
    entry = (NegativeListEntry.select().where(NegativeListEntry.severity == severity)
             .order_by(NegativeListEntry.id).first())
    assert entry is not None, f"the seed has no negative-list entry of severity {severity}"
    return entry.matter, entry


# ---------------------------------------------------------------------------------------------
# requirements_for
# ---------------------------------------------------------------------------------------------
def test_every_material_appears_once_in_catalog_order(seeded):
    for matter in Matter.select():
        expected = [r.material.code for r in matter.requirements.order_by(MaterialRequirement.position)]
        for tier in haikou_tiers():
            got = requirements_for(matter, tier, path="standard")
            assert [d.material_code for d in got] == expected
            assert all(d.supplement_days is None for d in got)   # nothing defers on the standard path


def test_elicence_materials_are_fetched_for_every_tier_and_path(seeded):
    reqs = [r for r in all_requirements() if r.material.elicence_type]
    assert reqs
    for req, tier, path, d in sweep(reqs):
        assert d.disposition == "elicence", (req.matter.code, req.material.code, tier, path)
        assert d.elicence_type == req.material.elicence_type
        assert d.label == "电子证照自动调取" and not d.must_upload


def test_waived_tiers(seeded):
    reqs = [r for r in all_requirements() if r.waived_tier_codes and not r.material.elicence_type]
    assert reqs
    for req, tier, path, d in sweep(reqs):
        if tier in req.waived_tier_codes:
            assert d.disposition == "waived", (req.matter.code, req.material.code, tier, path)
        else:
            assert d.disposition != "waived"
            if path == "standard" and req.necessity == REQUIRED:
                assert d.disposition == "upload"


def test_tolerance_path_defers_deferrable_materials(seeded):
    reqs = [r for r in all_requirements() if r.necessity == DEFERRABLE and not r.material.elicence_type
            and not r.waived_tier_codes and not r.commitment_replaces]
    assert reqs
    for req, tier, path, d in sweep(reqs):
        if path == "tolerance":
            assert (d.disposition, d.supplement_days) == ("defer", req.supplement_days)
            assert d.label == "容缺后补"
        else:
            assert (d.disposition, d.supplement_days) == ("upload", None)


def test_deferral_without_its_own_deadline_gets_the_default(seeded):
    req = next(r for r in all_requirements() if r.necessity == DEFERRABLE and not r.material.elicence_type)
    req.supplement_days = None
    req.save()
    d = disposition(req.matter, "orange", req.material.code, "tolerance")
    assert (d.disposition, d.supplement_days) == ("defer", DEFAULT_SUPPLEMENT_DAYS)


def test_commitment_path_replaces_materials(seeded):
    reqs = [r for r in all_requirements() if r.commitment_replaces and not r.material.elicence_type
            and not r.waived_tier_codes]
    assert reqs
    for req, tier, path, d in sweep(reqs):
        if path == "commitment":
            assert (d.disposition, d.supplement_days) == ("commitment", None)
            assert d.label == "告知承诺替代"
        else:
            assert d.disposition == "upload"


def test_optional_and_plain_materials(seeded):
    plain = [r for r in all_requirements() if not r.material.elicence_type and not r.waived_tier_codes
             and not r.commitment_replaces]
    optional = [r for r in plain if r.necessity == OPTIONAL]
    required = [r for r in plain if r.necessity == REQUIRED]
    assert optional and required
    for req, tier, path, d in sweep(optional):
        assert d.disposition == "optional" and not d.must_upload, (req.matter.code, req.material.code)
    for req, tier, path, d in sweep(required):
        assert d.disposition == "upload" and d.must_upload and d.label == "需提交"


def _tolerance_matter() -> tuple[Matter, list[str]]:
    """A seeded matter bound to the tolerance process with materials that may be deferred."""
    for matter in Matter.select().order_by(Matter.code):
        if matter.process is None or matter.process.key != "tolerance":
            continue
        deferrable = [r.material.code for r in matter.requirements
                      if r.necessity == DEFERRABLE and not r.material.elicence_type and not r.waived_tier_codes]
        if deferrable:
            return matter, deferrable
    pytest.fail("no seeded tolerance matter with deferrable materials")


def test_default_path_comes_from_the_published_process(seeded):
    matter, deferrable = _tolerance_matter()
    for material in deferrable:
        assert disposition(matter, "red", material, None).disposition == "defer"
        assert disposition(matter, "orange", material, None).disposition == "defer"
        assert disposition(matter, "blue", material, None).disposition == "upload"
        assert disposition(matter, "black", material, None).disposition == "upload"

    # and it agrees with what the process recorded at publication, for clean subjects ...
    paths = matter.process.tier_paths
    for tier in haikou_tiers():
        expected = "defer" if paths[tier]["clean"] == "tolerance" else "upload"
        assert disposition(matter, tier, deferrable[0], None).disposition == expected

    # ... and, given an EffectiveTier, for a subject with a dishonesty record
    clean = effective_tier(new_subject("容缺守信有限公司", "red"))
    flawed_subject = new_subject("容缺一般失信有限公司", "red")
    add_record(flawed_subject, GENERAL)
    flawed = effective_tier(flawed_subject)
    assert flawed.code == "red" and flawed.has_dishonesty_record
    assert disposition(matter, clean, deferrable[0], None).disposition == "defer"
    expected = "defer" if paths["red"]["record"] == "tolerance" else "upload"
    assert disposition(matter, flawed, deferrable[0], None).disposition == expected


def test_commitment_matter_default_path(seeded):
    matter = next(m for m in Matter.select().order_by(Matter.code)
                  if m.process and m.process.key == "commitment"
                  and any(r.commitment_replaces and not r.material.elicence_type for r in m.requirements))
    material = next(r.material.code for r in matter.requirements
                    if r.commitment_replaces and not r.material.elicence_type)
    paths = matter.process.tier_paths
    assert paths["red"]["clean"] == "commitment"
    for tier in haikou_tiers():
        expected = "commitment" if paths[tier]["clean"] == "commitment" else "upload"
        assert disposition(matter, tier, material, None).disposition == expected
    assert disposition(matter, "blue", material, None).disposition == "upload"


def test_matter_without_process_is_handled_by_standard_review(seeded):
    matter, deferrable = _tolerance_matter()
    matter.process = None
    matter.save()
    matter = Matter.get_by_id(matter.id)
    assert disposition(matter, "red", deferrable[0], None).disposition == "upload"


# ---------------------------------------------------------------------------------------------
# negative list
# ---------------------------------------------------------------------------------------------
def test_severe_entry_closes_to_worst_tier_and_severe_records_only(seeded):
    matter, entry = listed_matter(SEVERE)
    assert is_on_negative_list(matter)

    black = new_subject("黑色等级有限公司", "black")
    closure = is_closed_to(matter, black)
    assert closure is not None
    assert closure.entry_id == entry.id and closure.legal_basis == entry.legal_basis
    assert entry.legal_basis in closure.reason and matter.name in closure.reason

    severe = new_subject("严重失信有限公司", "red")
    add_record(severe, SEVERE, reason="被人民法院列为失信被执行人")
    closure = is_closed_to(matter, severe)
    assert closure is not None
    assert entry.legal_basis in closure.reason
    assert "严重失信" in closure.reason and "被人民法院列为失信被执行人" in closure.reason

    for tier in ("red", "orange", "blue"):
        assert is_closed_to(matter, new_subject(f"{tier}守信有限公司", tier)) is None
    general = new_subject("一般失信有限公司", "orange")
    add_record(general, GENERAL)
    assert is_closed_to(matter, general) is None       # 严重 only: a general record does not close it


def test_general_entry_closes_to_any_record(seeded):
    matter, entry = listed_matter(GENERAL)
    general = new_subject("一般失信有限公司", "red")
    add_record(general, GENERAL, reason="未按期报送年度报告")
    closure = is_closed_to(matter, general)
    assert closure is not None and closure.entry_id == entry.id
    assert entry.legal_basis in closure.reason and "未按期报送年度报告" in closure.reason

    severe = new_subject("严重失信有限公司", "orange")
    add_record(severe, SEVERE)
    assert is_closed_to(matter, severe) is not None
    assert is_closed_to(matter, new_subject("黑色等级有限公司", "black")) is not None
    assert is_closed_to(matter, new_subject("守信有限公司", "blue")) is None


def _only_entry(severity: str, skip: set[int] = frozenset()) -> tuple[Matter, NegativeListEntry]:
    """A seeded listed matter (not in `skip`), left with a single negative-list entry."""
    entry = (NegativeListEntry.select().where((NegativeListEntry.severity == severity)
                                              & NegativeListEntry.matter.not_in(list(skip) or [0]))
             .order_by(NegativeListEntry.id).first())
    assert entry is not None
    NegativeListEntry.delete().where((NegativeListEntry.matter == entry.matter_id)
                                     & (NegativeListEntry.id != entry.id)).execute()
    return entry.matter, entry


def test_entry_outside_its_dates_closes_nothing(seeded):
    # All edits first, then the questions.
    expired, expired_entry = _only_entry(SEVERE)
    expired_entry.effective_to = TODAY - DAY
    expired_entry.save()
    pending, pending_entry = _only_entry(SEVERE, skip={expired.id})
    pending_entry.effective_from, pending_entry.effective_to = TODAY + 5 * DAY, None
    pending_entry.save()
    black = new_subject("黑色等级有限公司", "black")
    severe = new_subject("严重失信有限公司", "red")
    add_record(severe, SEVERE)

    for matter in (expired, pending):
        assert not is_on_negative_list(matter)
        assert is_closed_to(matter, black) is None
        assert is_closed_to(matter, severe) is None
    # the expired entry did close the matter while it was in force ...
    assert is_on_negative_list(expired, on=TODAY - 2 * DAY)
    assert is_closed_to(expired, black, on=TODAY - 2 * DAY) is not None
    # ... and the pending one closes it from the day it takes effect
    assert is_on_negative_list(pending, on=TODAY + 5 * DAY)
    assert is_closed_to(pending, black, on=TODAY + 5 * DAY) is not None


def test_negative_list_edit_takes_effect_at_once(seeded):
    """Staff edit the list in its admin view (Flask-Admin saves the model with .save()): the very next
    question in the same process must see the edit."""
    matter, entry = _only_entry(SEVERE)
    black = new_subject("黑色等级有限公司", "black")
    assert is_on_negative_list(matter)
    assert is_closed_to(matter, black) is not None

    entry.effective_to = TODAY - DAY          # lifted as of yesterday
    entry.save()
    assert not is_on_negative_list(matter)
    assert is_closed_to(matter, black) is None

    NegativeListEntry.create(matter=matter, legal_basis="新增依据（测试）", severity=GENERAL,
                             effective_from=TODAY - DAY)
    general = new_subject("一般失信有限公司", "blue")
    add_record(general, GENERAL)
    closure = is_closed_to(matter, general)
    assert closure is not None and "新增依据（测试）" in closure.reason


def test_another_database_never_sees_the_previous_ones_catalog(seeded, tmp_path):
    """Binding the database proxy to another database (a host app, `xinyipi bench`, the tests) must not
    leave answers about the previous database behind."""
    from plugin import db as dbmod
    from plugin.migrations import migrate
    from seeds.loader import load_schemes

    matter, _entry = _only_entry(SEVERE)
    code, name = matter.code, matter.name
    assert is_on_negative_list(matter)
    seeded.close()

    dbmod.bind(f"sqlite:///{tmp_path}/other.db")
    migrate()
    load_schemes()
    other = Matter.create(code=code, name=name, department="另一个库", kind="许可", legal_days=20,
                          promised_days=20, status="published")
    assert NegativeListEntry.select().count() == 0
    assert not is_on_negative_list(other)
    assert is_closed_to(other, new_subject("黑色等级有限公司", "black")) is None
    assert other.promised_days_for("red") == 20


def test_matter_not_on_the_list_is_never_closed(seeded):
    listed = {e.matter_id for e in NegativeListEntry.select()}
    open_matters = [m for m in Matter.select() if m.id not in listed]
    assert open_matters
    black = new_subject("黑色等级有限公司", "black")
    severe = new_subject("严重失信有限公司", "red")
    add_record(severe, SEVERE)
    general = new_subject("一般失信有限公司", "blue")
    add_record(general, GENERAL)
    for matter in open_matters:
        assert not is_on_negative_list(matter)
        for subject in (black, severe, general):
            assert is_closed_to(matter, subject) is None


# ---------------------------------------------------------------------------------------------
# promised limits per tier
# ---------------------------------------------------------------------------------------------
def test_promised_days_per_tier_follow_the_seeded_limits(seeded):
    catalog = load_json("catalog.json")
    tiers = haikou_tiers()
    assert any(m.get("tier_promised_days") for m in catalog["matters"])
    for m in catalog["matters"]:
        matter = Matter.get(Matter.code == m["code"])
        limits = m.get("tier_promised_days") or {}
        for tier in tiers:
            assert matter.promised_days_for(tier) == limits.get(tier, m["promised_days"]), (m["code"], tier)
        assert matter.promised_days_for(None) == m["promised_days"]
        assert matter.promised_days_for("") == m["promised_days"]


def test_promised_days_only_use_limits_of_the_active_scheme(seeded):
    catalog = load_json("catalog.json")
    m = next(m for m in catalog["matters"] if "red" in (m.get("tier_promised_days") or {})
             and m["tier_promised_days"]["red"] != m["promised_days"])
    matter = Matter.get(Matter.code == m["code"])
    assert matter.promised_days_for("red") == m["tier_promised_days"]["red"]
    # Hangzhou also has a "red" tier (its second worst): Haikou's red limit must not apply to it
    activate_scheme("hangzhou")
    assert matter.promised_days_for("red") == m["promised_days"]
    activate_scheme("jiangdu")
    assert matter.promised_days_for("A") == m["promised_days"]


# ---------------------------------------------------------------------------------------------
# xinyipi matters
# ---------------------------------------------------------------------------------------------
def test_cli_matters_lists_every_matter(seeded, cli_runner):
    result = cli_runner("matters")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    matters = list(Matter.select())
    assert len(lines) == len(matters) == len(load_json("catalog.json")["matters"])
    listed = {e["matter"] for e in load_json("catalog.json")["negative_list"]}
    for matter in matters:
        (line,) = [line for line in lines if matter.code in line]
        assert matter.name in line and matter.department in line
        assert f"法定{matter.legal_days}" in line and f"承诺{matter.promised_days}" in line
        assert ("负面清单" in line) == (matter.code in listed)
        assert matter.process is not None and str(matter.process) in line


def test_cli_matters_json(seeded, cli_runner):
    result = cli_runner("matters", "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    by_code = {r["code"]: r for r in rows}
    assert len(by_code) == len(rows) == Matter.select().count()
    listed = {e["matter"] for e in load_json("catalog.json")["negative_list"]}
    for matter in Matter.select():
        row = by_code[matter.code]
        assert (row["name"], row["department"], row["legal_days"], row["promised_days"], row["status"]) == (
            matter.name, matter.department, matter.legal_days, matter.promised_days, "published")
        assert row["negative_list"] is (matter.code in listed)
        assert row["process"] == str(matter.process)
