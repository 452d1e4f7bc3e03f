"""`xinyipi bench --admin-subjects 1000000 --admin-matters 3000`: the admin's list pages and searches
at scale, in server time (the request through Flask, Flask-Admin, the queries and the template),
each against the bare SQL for the same rows run in the same process.

The data is written straight into a scratch database (see `benchmarks.service.scratch_database`):
subjects with valid codes spread over every tier, one in a hundred with a dishonesty record, and
matters with requirements and negative-list entries across fifty departments.
"""
from __future__ import annotations

import datetime as _dt
import random
import statistics
import time

from plugin import db as dbmod

DEPARTMENTS = [f"{city}{office}" for city in ("海口市", "三亚市", "儋州市", "琼海市", "文昌市")
               for office in ("市场监督管理局", "行政审批服务局", "住房和城乡建设局", "交通运输局", "卫生健康委员会",
                              "生态环境局", "文化广电旅游体育局", "农业农村局", "自然资源和规划局", "应急管理局")]
NAME_WORDS = ("海南", "椰风", "南海", "琼州", "鹿城", "万泉", "五指山", "博鳌", "清澜", "铜鼓")
TRADES = ("科技", "贸易", "建设", "餐饮", "物流", "旅游", "医药", "农业", "文化", "能源")


def _batches(rows, size=5000):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(subjects: int, matters: int, out, seed: int = 7) -> dict:
    """Write `subjects` subjects (with records) and `matters` matters (with requirements) fast."""
    from plugin.catalog.models import Material, MaterialRequirement, Matter, NegativeListEntry
    from plugin.credit.codes import make_credit_code, make_id_number
    from plugin.credit.models import DishonestyRecord, Subject, Tier
    rng = random.Random(seed)
    tiers = [t.id for t in Tier.select()]
    db = dbmod.database.obj
    t0 = time.perf_counter()
    seen = set(c for (c,) in Subject.select(Subject.code).tuples())

    def subject_rows():
        now = dbmod.now()
        made = 0
        while made < subjects:
            code = make_credit_code(rng) if made % 5 else make_id_number(rng)
            if code in seen:
                continue
            seen.add(code)
            made += 1
            name = (f"{rng.choice(NAME_WORDS)}{rng.choice(NAME_WORDS)}{rng.choice(TRADES)}有限公司{made}"
                    if made % 5 else f"测试自然人{made}")
            yield (code, name, "organisation" if made % 5 else "person", rng.choice(tiers), "基准数据", now, now)

    for batch in _batches(subject_rows()):
        with db.atomic():
            Subject.insert_many(batch, fields=[Subject.code, Subject.name, Subject.kind, Subject.tier,
                                               Subject.source, Subject.tier_updated_at,
                                               Subject.created_at]).execute()
    t1 = time.perf_counter()
    max_id = Subject.select(Subject.id).order_by(Subject.id.desc()).scalar()
    records = [(rng.randint(1, max_id), rng.choice(("一般", "严重")), "基准数据：失信事由", "基准机关",
                _dt.date(2025, 1, 1), None, f"bench-{i}") for i in range(subjects // 100)]
    for batch in _batches(records):
        with db.atomic():
            DishonestyRecord.insert_many(batch, fields=[
                DishonestyRecord.subject, DishonestyRecord.severity, DishonestyRecord.reason,
                DishonestyRecord.authority, DishonestyRecord.start, DishonestyRecord.end,
                DishonestyRecord.fingerprint]).execute()

    existing = Matter.select().count()
    materials = [m.id for m in Material.select(Material.id)]
    matter_rows = [(f"BENCH{i:05d}", f"{rng.choice(NAME_WORDS)}{rng.choice(TRADES)}经营许可（基准{i}）",
                    rng.choice(DEPARTMENTS), "许可", 20, rng.randint(3, 15), "published")
                   for i in range(max(0, matters - existing))]
    with db.atomic():
        for batch in _batches(matter_rows, 1000):
            Matter.insert_many(batch, fields=[Matter.code, Matter.name, Matter.department, Matter.kind,
                                              Matter.legal_days, Matter.promised_days, Matter.status]).execute()
    bench_ids = [m for (m,) in Matter.select(Matter.id).where(Matter.code.startswith("BENCH")).tuples()]
    reqs = [(m, mat, "必要") for m in bench_ids for mat in rng.sample(materials, 4)]
    with db.atomic():
        for batch in _batches(reqs):
            MaterialRequirement.insert_many(batch, fields=[MaterialRequirement.matter, MaterialRequirement.material,
                                                           MaterialRequirement.necessity]).execute()
        NegativeListEntry.insert_many(
            [(m, "《基准数据条例》", "严重", _dt.date(2024, 1, 1)) for m in bench_ids[::25]],
            fields=[NegativeListEntry.matter, NegativeListEntry.legal_basis, NegativeListEntry.severity,
                    NegativeListEntry.effective_from]).execute()
    if dbmod.is_postgres():
        db.execute_sql("ANALYZE")
    else:
        db.execute_sql("ANALYZE")
    dbmod.ReferenceCache.clear_all()
    t2 = time.perf_counter()
    print(f"loaded {subjects:,} subjects in {t1 - t0:.1f} s, {len(records):,} records and "
          f"{Matter.select().count():,} matters in {t2 - t1:.1f} s", file=out)
    return {"subjects": Subject.select().count(), "matters": Matter.select().count()}


def _time(fn, repeat: int) -> list[float]:
    fn()                                    # warm caches and templates once
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def pages(app, repeat: int, out) -> list[dict]:
    """Time each admin list page/search against the bare SQL for its rows."""
    from plugin.catalog.models import Matter
    from plugin.credit.models import Subject, Tier
    db = dbmod.database.obj
    client = app.test_client()
    from plugin.accounts import StaffUser
    user = StaffUser.get(StaffUser.username == "admin")
    user.set_password("bench-password-1")
    user.save()
    r = client.post("/admin/login", data={"username": "admin", "password": "bench-password-1"})
    assert r.status_code == 302, "sign-in failed"

    sample = Subject.select().order_by(Subject.id.desc()).first()
    tier = Tier.select().first()
    views = {v.endpoint: v for v in app.extensions["xinyipi"].admin._views}

    def flt(endpoint, label):
        return next(i for i, f in enumerate(views[endpoint]._filters) if str(f.name) == label)

    dept = Matter.select(Matter.department).where(Matter.code.startswith("BENCH")).first().department
    ph = "%s" if dbmod.is_postgres() else "?"
    cases = [
        ("matters: list", "/admin/xinyipi_matter/",
         "SELECT * FROM matter ORDER BY code LIMIT 20", ()),
        ("matters: search name", "/admin/xinyipi_matter/?search=椰风科技",
         f"SELECT * FROM matter WHERE name LIKE {ph} ORDER BY code LIMIT 20", ("%椰风科技%",)),
        ("matters: filter department", f"/admin/xinyipi_matter/?flt0_{flt('xinyipi_matter', '实施机关')}={dept}",
         f"SELECT * FROM matter WHERE department = {ph} ORDER BY code LIMIT 20", (dept,)),
        ("matters: on negative list", f"/admin/xinyipi_matter/?flt0_{flt('xinyipi_matter', '列入负面清单')}=1",
         "SELECT * FROM matter WHERE id IN (SELECT matter_id FROM negative_list_entry) ORDER BY code LIMIT 20", ()),
        ("subjects: list", "/admin/xinyipi_subject/",
         "SELECT * FROM subject LIMIT 20", ()),
        ("subjects: search code prefix", f"/admin/xinyipi_subject/?search={sample.code[:12]}",
         f"SELECT * FROM subject WHERE code >= {ph} AND code < {ph} LIMIT 20",
         (sample.code[:12], sample.code[:12] + "\uffff")),
        ("subjects: search full code", f"/admin/xinyipi_subject/?search={sample.code}",
         f"SELECT * FROM subject WHERE code = {ph} LIMIT 20", (sample.code,)),
        ("subjects: search name start", f"/admin/xinyipi_subject/?search={sample.name[:4]}",
         f"SELECT * FROM subject WHERE name >= {ph} AND name < {ph} LIMIT 20",
         (sample.name[:4], sample.name[:4] + "\uffff")),
        ("subjects: search unknown name", "/admin/xinyipi_subject/?search=不存在的名称",
         f"SELECT * FROM subject WHERE name >= {ph} AND name < {ph} LIMIT 20", ("不存在的名称", "不存在的名称\uffff")),
        ("subjects: filter tier", f"/admin/xinyipi_subject/?flt0_{flt('xinyipi_subject', '导入信用等级')}={tier.id}",
         f"SELECT * FROM subject WHERE tier_id = {ph} LIMIT 20", (tier.id,)),
        ("subjects: page 2000", "/admin/xinyipi_subject/?page=2000",
         "SELECT * FROM subject LIMIT 20 OFFSET 100000", ()),
        ("dishonesty records: list", "/admin/xinyipi_dishonesty_record/",
         "SELECT * FROM dishonesty_record r JOIN subject s ON s.id = r.subject_id ORDER BY r.id DESC LIMIT 20", ()),
        ("negative list: list", "/admin/xinyipi_negative_list_entry/",
         "SELECT * FROM negative_list_entry n JOIN matter m ON m.id = n.matter_id LIMIT 20", ()),
    ]
    if "xinyipi_application" in views:
        cases.append(("cases: list", "/admin/xinyipi_application/",
                      "SELECT * FROM application ORDER BY submitted_at DESC LIMIT 20", ()))
    results = []
    for name, url, sql, params in cases:
        def page():
            resp = client.get(url)
            assert resp.status_code == 200, (url, resp.status_code)

        def raw():
            db.execute_sql(sql, params).fetchall()
        times = _time(page, repeat)
        base = _time(raw, repeat)
        p50, p95 = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
        ratio = p50 / max(statistics.median(base), 0.001)
        results.append({"name": name, "p50_ms": p50, "p95_ms": p95, "raw_ms": statistics.median(base),
                        "ratio": ratio})
        print(f"  {name:30s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   bare SQL {statistics.median(base):7.2f} ms"
              f"  ({ratio:,.0f}×){'  OVER 300 ms' if p95 > 300 else ''}", file=out)
    return results
