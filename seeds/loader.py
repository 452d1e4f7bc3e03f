"""Loads the seed data: tier schemes, the catalog, demo subjects with dishonesty records, and (only
when asked for demo data) demo staff accounts with a published password.

Every step upserts by natural key, so `xinyipi seed` can run any number of times.
Demo subjects are generated from a fixed random seed: the same codes every time.
"""
from __future__ import annotations

import datetime as _dt
import json
import random
from pathlib import Path

from plugin.accounts import ROLES, StaffUser
from plugin.catalog.models import (PUBLISHED, Material, MaterialRequirement, Matter, MatterTierLimit,
                                   NegativeListEntry)
from plugin.credit.codes import make_credit_code, make_id_number
from plugin.credit.importer import record_fingerprint
from plugin.credit.models import GENERAL, ORGANISATION, PERSON, SEVERE, DishonestyRecord, Subject, Tier, TierScheme
from plugin.db import database, now

HERE = Path(__file__).parent
DEMO_PASSWORD = "xinyipi-demo"
DEMO_STAFF = [
    ("admin", "系统管理员", "sysadmin", "海口市政务服务中心"),
    ("catalog", "林晓梅", "catalog_admin", "海口市政务服务中心"),
    ("designer", "陈志远", "process_designer", "海口市政务服务中心"),
    ("reviewer", "王海燕", "reviewer", "海口市政务服务中心"),
    ("reviewer2", "符永强", "reviewer", "海口市政务服务中心"),
    ("approver", "吴建国", "approver", "海口市政务服务中心"),
    ("supervisor", "李明", "supervisor", "海口市市场监督管理局"),
    ("supervisor2", "黄丽", "supervisor", "海口市市场监督管理局"),
    ("supervisor3", "邢少华", "supervisor", "海口市卫生健康委员会"),
]

# Named demo subjects, one per situation, for a newcomer to click through (codes are generated
# from the fixed seed too and printed by `xinyipi seed`).
NAMED = [
    ("海口椰城餐饮管理有限公司", "red", None),
    ("海南琼州文化传媒有限公司", "orange", None),
    ("海口南渡江物流有限公司", "blue", None),
    ("海口万绿园娱乐有限公司", "black", SEVERE),
    ("海南骑楼老街网络科技有限公司", "orange", GENERAL),
]

_PLACES = ["海口", "琼山", "美兰", "龙华", "秀英", "椰城", "南渡江", "骑楼", "万绿", "琼州", "滨海", "五公祠"]
_WORDS = ["恒信", "诚达", "宏远", "嘉禾", "瑞丰", "聚鑫", "华信", "海韵", "椰风", "蓝海", "金港", "鸿运",
          "天成", "永安", "新航", "博远", "明德", "同心", "众诚", "佳和"]
_TRADES = ["餐饮管理", "文化传媒", "物流", "建筑工程", "食品", "网络科技", "旅游开发", "医药连锁",
           "港口服务", "汽车运输", "教育咨询", "娱乐", "演艺", "托育服务", "环保科技", "人力资源"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林符邢云吉冯"
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
          "涛", "明", "超", "秀兰", "霞", "平", "刚", "海燕", "永强", "少华"]
_AUTHORITIES = ["海口市市场监督管理局", "海口市中级人民法院", "国家税务总局海口市税务局",
                "海口市生态环境局", "海口市人力资源和社会保障局"]
_REASONS = {
    SEVERE: ["被人民法院列为失信被执行人", "重大税收违法失信案件当事人", "食品安全严重违法生产经营",
             "拒不履行告知承诺被撤销许可"],
    GENERAL: ["未按期报送年度报告", "行政处罚（警告）未履行完毕", "欠缴社会保险费逾期未补缴"],
}


def load_json(name: str):
    with open(HERE / name, encoding="utf-8") as f:
        return json.load(f)


def load_schemes() -> int:
    count = 0
    with database.atomic():
        any_active = TierScheme.select().where(TierScheme.active == True).exists()  # noqa: E712
        for s in load_json("schemes.json"):
            scheme = TierScheme.get_or_none(TierScheme.code == s["code"])
            if scheme is None:
                scheme = TierScheme.create(code=s["code"], name=s["name"], region=s["region"],
                                           description=s["description"],
                                           default_tier_code=s["default_tier_code"],
                                           active=s["active"] and not any_active)
            for t in s["tiers"]:
                tier = Tier.get_or_none((Tier.scheme == scheme) & (Tier.code == t["code"]))
                if tier is None:
                    Tier.create(scheme=scheme, code=t["code"], label=t["label"], colour=t["colour"],
                                rank=t["rank"], inspection_ratio=t["inspection_ratio"],
                                description=t.get("description", ""))
                count += 1
    return count


def load_catalog() -> dict:
    data = load_json("catalog.json")
    haikou = {t.code: t for t in Tier.select().join(TierScheme).where(TierScheme.code == "haikou")}
    from plugin.engine.publish import publish_template
    templates = {key: publish_template(key) for key in sorted({m["process"] for m in data["matters"]})}
    with database.atomic():
        materials = {}
        for m in data["materials"]:
            fields = dict(name=m["name"], type=m["type"], form=m["form"], source=m["source"],
                          elicence_type=m.get("elicence_type"), description=m.get("description", ""))
            material, created = Material.get_or_create(code=m["code"], defaults=fields)
            materials[m["code"]] = material
        matters = {}
        for m in data["matters"]:
            fields = dict(name=m["name"], department=m["department"], kind=m["kind"],
                          legal_days=m["legal_days"], promised_days=m["promised_days"],
                          major_project=m.get("major_project", False), process=templates[m["process"]],
                          status=PUBLISHED, conditions=m.get("conditions", ""),
                          legal_basis=m.get("legal_basis", ""), fee=m.get("fee", "不收费"))
            matter, created = Matter.get_or_create(code=m["code"], defaults=fields)
            matters[m["code"]] = matter
            if not created:
                continue
            for position, r in enumerate(m["requirements"]):
                MaterialRequirement.create(
                    matter=matter, material=materials[r["material"]], necessity=r["necessity"],
                    waived_tiers=",".join(r.get("waived_tiers") or []),
                    commitment_replaces=r.get("commitment_replaces", False), copies=r.get("copies", 1),
                    supplement_days=r.get("supplement_days"), notes=r.get("notes", ""),
                    position=position)
            for code, days in (m.get("tier_promised_days") or {}).items():
                MatterTierLimit.create(matter=matter, tier=haikou[code], promised_days=days)
        for e in data["negative_list"]:
            matter = matters[e["matter"]]
            start = _dt.date.fromisoformat(e["effective_from"])
            if not NegativeListEntry.select().where((NegativeListEntry.matter == matter)
                                                    & (NegativeListEntry.effective_from == start)).exists():
                NegativeListEntry.create(
                    matter=matter, legal_basis=e["legal_basis"], severity=e["severity"],
                    effective_from=start,
                    effective_to=_dt.date.fromisoformat(e["effective_to"]) if e.get("effective_to") else None,
                    note=e.get("note", ""))
    return {"materials": len(materials), "matters": len(matters), "negative_list": len(data["negative_list"]),
            "processes": ", ".join(f"{d.key} v{d.version}" for d in templates.values())}


def demo_subjects(count: int = 300):
    """(code, name, kind, scheme code, tier code, severity of a record or None), deterministic."""
    rng = random.Random(20261123)
    tiers = ["red"] * 3 + ["orange"] * 4 + ["blue"] * 4 + ["black"]
    out = []
    for name, tier, severity in NAMED:
        out.append((make_credit_code(rng), name, ORGANISATION, "haikou", tier, severity))
    seen = {o[1] for o in out}
    while len(out) < count:
        if rng.random() < 0.75:
            name = rng.choice(_PLACES) + rng.choice(_WORDS) + rng.choice(_TRADES) + "有限公司"
            code, kind = make_credit_code(rng), ORGANISATION
        else:
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            birth = _dt.date(1960, 1, 1) + _dt.timedelta(days=rng.randrange(0, 16000))
            code, kind = make_id_number(rng, birth=birth), PERSON
            name = f"{name}（{code[-4:]}）"
        if name in seen:
            continue
        seen.add(name)
        roll = rng.random()
        if roll < 0.05:
            scheme, tier = "jiangdu", rng.choice("ABCDE")
        elif roll < 0.10:
            scheme, tier = "hangzhou", rng.choice(["green", "blue", "yellow", "red", "black"])
        else:
            scheme, tier = "haikou", rng.choice(tiers)
        severity = None
        if tier in ("black", "E"):
            severity = SEVERE
        elif rng.random() < 0.06:
            severity = GENERAL
        out.append((code, name, kind, scheme, tier, severity))
    return out


def load_subjects() -> dict:
    tiers = {(t.scheme.code, t.code): t.id for t in Tier.select(Tier, TierScheme).join(TierScheme)}
    rng = random.Random(7)
    records = 0
    with database.atomic():
        for code, name, kind, scheme, tier, severity in demo_subjects():
            subject, _ = Subject.get_or_create(code=code, defaults=dict(
                name=name, kind=kind, tier=tiers[(scheme, tier)], source="演示数据", tier_updated_at=now()))
            if severity:
                start = _dt.date(2025, 1, 1) + _dt.timedelta(days=rng.randrange(0, 500))
                reason = rng.choice(_REASONS[severity])
                authority = rng.choice(_AUTHORITIES)
                fp = record_fingerprint(code, severity, authority, start, reason)
                DishonestyRecord.get_or_create(fingerprint=fp, defaults=dict(
                    subject=subject, severity=severity, reason=reason, authority=authority,
                    start=start, end=start + _dt.timedelta(days=3 * 365)))
                records += 1
    return {"subjects": Subject.select().count(), "dishonesty_records": DishonestyRecord.select().count()}


def load_staff() -> int:
    with database.atomic():
        for username, name, role, department in DEMO_STAFF:
            assert role in ROLES
            if not StaffUser.select().where(StaffUser.username == username).exists():
                user = StaffUser(username=username, name=name, role=role, department=department)
                user.set_password(DEMO_PASSWORD)
                user.save()
    return len(DEMO_STAFF)


def load_all(demo_staff: bool = False) -> dict:
    """Everything `xinyipi seed` loads. The demo staff accounts (one per role, password
    `DEMO_PASSWORD`, printed in the README) only with `demo_staff`: a production database must
    never get accounts whose password is public."""
    from plugin.db import ReferenceCache
    ReferenceCache.clear_all()
    summary = {"tiers": load_schemes()}
    summary.update(load_catalog())
    summary.update(load_subjects())
    if demo_staff:
        summary["demo staff"] = (f"{load_staff()} accounts ({', '.join(u for u, *_rest in DEMO_STAFF)}), "
                                 f"password {DEMO_PASSWORD}")
    ReferenceCache.clear_all()
    demo = demo_subjects()[:len(NAMED)]
    summary["demo subjects"] = "; ".join(f"{name} {code} {tier}" for code, name, _k, _s, tier, _sev in demo)
    return summary
