"""Credit on a real database: bulk import of subjects and dishonesty records (API and CLI),
the effective tier, and `xinyipi subject`."""
from __future__ import annotations

import datetime as dt
import io
import json
import random

import pytest

from plugin.credit.codes import (credit_code_check_char, id_check_char, make_credit_code,
                                 make_id_number, validate_subject_code)
from plugin.credit.importer import import_dishonesty, import_subjects, record_fingerprint
from plugin.credit.models import GENERAL, SEVERE, DishonestyRecord, Subject, Tier, TierScheme
from plugin.credit.tiers import activate_scheme, active_scheme, effective_tier

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def schemes(db):
    """The migrated database with the three seeded tier schemes (Haikou active), nothing else."""
    from seeds.loader import load_schemes
    load_schemes()
    assert active_scheme().code == "haikou"
    return db


def org_codes(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [make_credit_code(rng) for _ in range(n)]


def person_code(seed: int) -> str:
    return make_id_number(random.Random(seed))


def with_wrong_check(code: str, alphabet: str = USCC_ALPHABET) -> str:
    """`code` with a different (wrong) last character from the same alphabet."""
    wrong = next(c for c in alphabet if c != code[-1])
    return code[:-1] + wrong


def tier(scheme: str, code: str) -> Tier:
    return Tier.select().join(TierScheme).where((TierScheme.code == scheme) & (Tier.code == code)).get()


def line_numbers(report) -> list[int]:
    return [int(e.split(":", 1)[0].removeprefix("line ")) for e in report.errors]


def error_on(report, line: int) -> str:
    matches = [e for e in report.errors if e.startswith(f"line {line}: ")]
    assert len(matches) == 1, report.errors
    return matches[0]


def make_subject(code: str, name: str, tier_row: Tier | None) -> Subject:
    code, kind = validate_subject_code(code)
    return Subject.create(code=code, name=name, kind=kind, tier=tier_row, source="测试",
                          tier_updated_at=dt.datetime(2026, 1, 1))


def add_record(subject: Subject, severity: str, start: dt.date, end: dt.date | None = None,
               repaired_at: dt.datetime | None = None, reason: str = "测试失信事由") -> DishonestyRecord:
    authority = "海口市市场监督管理局"
    return DishonestyRecord.create(
        subject=subject, severity=severity, reason=reason, authority=authority, start=start, end=end,
        repaired_at=repaired_at,
        fingerprint=record_fingerprint(subject.code, severity, authority, start, reason))


# ---------------------------------------------------------------------------------------------
# import_subjects
# ---------------------------------------------------------------------------------------------
def test_import_subjects_csv_reports_each_bad_row_and_keeps_the_good_ones(schemes):
    good1, bad_check, good2, unknown_tier, no_name, short_row, good4 = org_codes(101, 7)
    person = person_code(102)
    csv_text = "\n".join([
        "code,name,tier",                                   # 1
        f"{good1},海口甲餐饮管理有限公司,red",                  # 2 good
        f"{with_wrong_check(bad_check)},海口乙物流有限公司,blue",  # 3 bad check character
        f"{good2.lower()},\"海口丙文化传媒有限公司，分公司\",orange",  # 4 good, lower case code, quoted
        f"{unknown_tier},海口丁建筑工程有限公司,purple",          # 5 unknown tier
        f"{no_name},   ,blue",                              # 6 empty name
        f"{short_row},海口戊食品有限公司",                      # 7 wrong column count
        f"{person},王伟,",                                   # 8 good, a person, no tier
        "",                                                 # 9 blank: skipped, not an error
        f"{good4},海口己网络科技有限公司,black",                 # 10 good
    ]) + "\n"

    report = import_subjects(io.StringIO(csv_text))

    assert line_numbers(report) == [3, 5, 6, 7]
    assert "GB 32100" in error_on(report, 3) and "校验码" in error_on(report, 3)
    assert "purple" in error_on(report, 5)
    assert "name" in error_on(report, 6)
    assert "expected 3 columns, found 2" in error_on(report, 7)
    assert not report.ok
    assert report.imported == 4

    stored = {s.code: s for s in Subject.select()}
    assert set(stored) == {good1, good2, person, good4}     # good2 upper-cased by normalisation
    assert stored[good1].tier.code == "red" and stored[good1].kind == "organisation"
    assert stored[good2].name == "海口丙文化传媒有限公司，分公司"
    assert stored[good2].tier.code == "orange"
    assert stored[person].kind == "person" and stored[person].tier is None
    assert stored[good4].tier.code == "black"
    assert all(s.tier is None or s.tier.scheme.code == "haikou" for s in stored.values())


def test_import_subjects_upserts_by_code(schemes):
    a, b = org_codes(201, 2)
    first = import_subjects(io.StringIO(f"code,name,tier\n{a},旧名称有限公司,blue\n{b},不变有限公司,red\n"),
                            source="平台一")
    assert first.ok and first.imported == 2
    created_at = Subject.get(Subject.code == a).created_at

    # the same subject again: lower-case code, new name, new tier, new source
    second = import_subjects(io.StringIO(f"code,name,tier\n{a.lower()},新名称有限公司,red\n"), source="平台二")
    assert second.ok and second.imported == 1

    assert Subject.select().count() == 2
    s = Subject.get(Subject.code == a)
    assert (s.name, s.tier.code, s.source) == ("新名称有限公司", "red", "平台二")
    assert s.created_at == created_at
    other = Subject.get(Subject.code == b)
    assert (other.name, other.tier.code, other.source) == ("不变有限公司", "red", "平台一")


def test_import_subjects_json_lines(schemes):
    good1, good2, unknown_tier, bad_check, good3 = org_codes(301, 5)
    lines = [
        json.dumps({"code": good1, "name": "海口一号有限公司", "tier": "orange"}, ensure_ascii=False),  # 1
        '{"code": "' + good2 + '", "name": "断行',                                               # 2 bad JSON
        "[1, 2, 3]",                                                                           # 3 not an object
        json.dumps({"code": good2.lower(), "name": "海口二号有限公司", "tier": "red"}),              # 4 good
        json.dumps({"code": unknown_tier, "name": "海口三号有限公司", "tier": "gold"}),             # 5 unknown tier
        "",                                                                                    # 6 blank
        json.dumps({"code": with_wrong_check(bad_check), "name": "海口四号有限公司"}),              # 7 bad check
        json.dumps({"code": good3, "name": "海口五号有限公司", "tier": None}),                       # 8 good
    ]
    report = import_subjects(io.StringIO("\n".join(lines) + "\n"))

    assert line_numbers(report) == [2, 3, 5, 7]
    assert "JSON" in error_on(report, 2)
    assert "gold" in error_on(report, 5)
    assert "GB 32100" in error_on(report, 7)
    assert report.imported == 3
    stored = {s.code: s for s in Subject.select()}
    assert set(stored) == {good1, good2, good3}
    assert stored[good2].tier.code == "red"
    assert stored[good3].tier is None


def test_import_subjects_bom_prefixed_csv_header(schemes):
    (code,) = org_codes(401, 1)
    report = import_subjects(io.StringIO(f"\ufeffcode,name,tier\n{code},带BOM的导出有限公司,blue\n"))
    assert report.errors == []
    assert Subject.get(Subject.code == code).tier.code == "blue"


def test_import_subjects_bom_prefixed_json_lines(schemes):
    # an export saved by a Windows tool: UTF-8 with a byte-order mark, decoded as plain UTF-8
    (code,) = org_codes(402, 1)
    line = json.dumps({"code": code, "name": "带BOM的JSON导出有限公司", "tier": "red"}, ensure_ascii=False)
    report = import_subjects(io.StringIO("\ufeff" + line + "\n"))
    assert report.errors == []
    assert Subject.get(Subject.code == code).tier.code == "red"


def test_import_subjects_header_missing_a_column_is_an_error_on_line_1(schemes):
    (code,) = org_codes(501, 1)
    report = import_subjects(io.StringIO(f"code,name\n{code},缺列有限公司\n"))
    assert line_numbers(report) == [1]
    assert "tier" in report.errors[0]
    assert report.imported == 0
    assert Subject.select().count() == 0


def test_cli_import_subjects_exit_status_and_messages(schemes, cli_runner, tmp_path):
    good1, bad, good2 = org_codes(601, 3)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(f"code,name,tier\n{good1},好行一有限公司,red\n{bad},坏行有限公司,violet\n"
                     f"{good2},好行二有限公司,blue\n", encoding="utf-8")
    result = cli_runner("import-subjects", mixed)
    assert result.exit_code != 0
    assert "line 3:" in result.stderr and "violet" in result.stderr
    assert "line 2:" not in result.stderr and "line 4:" not in result.stderr
    assert "imported 2 row(s), 1 bad row(s)" in result.stdout
    assert {s.code for s in Subject.select()} == {good1, good2}

    # all good, written by Excel: UTF-8 with BOM and CRLF line ends
    (good3,) = org_codes(602, 1)
    clean = tmp_path / "clean.csv"
    clean.write_bytes(f"code,name,tier\r\n{good3.lower()},好行三有限公司,orange\r\n".encode("utf-8-sig"))
    result = cli_runner("import-subjects", clean)
    assert result.exit_code == 0, result.output
    assert "imported 1 row(s), 0 bad row(s)" in result.stdout
    assert Subject.get(Subject.code == good3).tier.code == "orange"

    # JSON lines from stdin
    (good4,) = org_codes(603, 1)
    result = cli_runner("import-subjects", "-",
                        input=json.dumps({"code": good4, "name": "标准输入有限公司", "tier": "black"}) + "\n")
    assert result.exit_code == 0, result.output
    assert Subject.get(Subject.code == good4).tier.code == "black"


def test_cli_import_subjects_unreadable_files_fail_cleanly(schemes, cli_runner, tmp_path):
    result = cli_runner("import-subjects", tmp_path / "missing.csv")
    assert result.exit_code != 0
    assert "cannot read" in result.stderr

    # A GBK-encoded export (common from older platforms) is not UTF-8: a clear refusal, no traceback.
    (code,) = org_codes(604, 1)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(f"code,name,tier\n{code},海口某某有限公司,red\n".encode("gbk"))
    result = cli_runner("import-subjects", gbk)
    assert result.exit_code != 0
    assert "utf-8" in result.stderr.lower()
    assert Subject.select().count() == 0


# ---------------------------------------------------------------------------------------------
# import_dishonesty
# ---------------------------------------------------------------------------------------------
HEADER = "code,severity,reason,authority,start,end"


def test_import_dishonesty_reports_bad_rows_by_line(schemes):
    s1, s2, stranger = org_codes(701, 3)
    assert import_subjects(io.StringIO(f"code,name,tier\n{s1},主体一有限公司,red\n{s2},主体二有限公司,orange\n")).ok
    text = "\n".join([
        HEADER,                                                                    # 1
        f"{s1},严重,被人民法院列为失信被执行人,海口市中级人民法院,2025-01-01,",            # 2 good
        f"{stranger},严重,重大税收违法失信案件当事人,国家税务总局海口市税务局,2025-02-01,",  # 3 not registered
        f"{s2},moderate,未按期报送年度报告,海口市市场监督管理局,2025-03-01,",             # 4 bad severity
        f"{s2},一般,未按期报送年度报告,海口市市场监督管理局,2025-06-01,2025-05-01",         # 5 end before start
        f"{s2},general,欠缴社会保险费逾期未补缴,海口市人力资源和社会保障局,2025-03-01,2030-01-01",  # 6 good
        f"{s1},严重,食品安全严重违法生产经营,海口市市场监督管理局,2025/01/01,",             # 7 bad date
        f"{with_wrong_check(s1)},严重,拒不履行告知承诺,海口市市场监督管理局,2025-01-01,",  # 8 bad code
    ]) + "\n"

    report = import_dishonesty(io.StringIO(text))

    assert sorted(line_numbers(report)) == [3, 4, 5, 7, 8]
    assert stranger in error_on(report, 3)
    assert "moderate" in error_on(report, 4)
    assert "before" in error_on(report, 5)
    assert "2025/01/01" in error_on(report, 7)
    assert "GB 32100" in error_on(report, 8)
    assert report.imported == 2

    records = {r.subject.code: r for r in DishonestyRecord.select()}
    assert set(records) == {s1, s2}
    assert (records[s1].severity, records[s1].start, records[s1].end) == (SEVERE, dt.date(2025, 1, 1), None)
    assert (records[s2].severity, records[s2].end) == (GENERAL, dt.date(2030, 1, 1))


def test_import_dishonesty_reimport_does_not_duplicate(schemes):
    (s1,) = org_codes(801, 1)
    person = person_code(802)
    assert import_subjects(io.StringIO(f"code,name,tier\n{s1},重复导入有限公司,blue\n{person},李强,\n")).ok
    text = (f"{HEADER}\n{s1},严重,被人民法院列为失信被执行人,海口市中级人民法院,2025-01-01,2028-01-01\n"
            f"{person},一般,行政处罚（警告）未履行完毕,海口市生态环境局,2025-04-01,\n")
    assert import_dishonesty(io.StringIO(text)).ok
    assert import_dishonesty(io.StringIO(text)).ok
    assert DishonestyRecord.select().count() == 2

    # the same record with a new end date: updated in place
    changed = f"{HEADER}\n{s1},严重,被人民法院列为失信被执行人,海口市中级人民法院,2025-01-01,2026-06-30\n"
    assert import_dishonesty(io.StringIO(changed)).ok
    assert DishonestyRecord.select().count() == 2
    record = DishonestyRecord.select().join(Subject).where(Subject.code == s1).get()
    assert record.end == dt.date(2026, 6, 30)


def test_cli_import_dishonesty_exit_status(schemes, cli_runner, tmp_path):
    (s1,) = org_codes(901, 1)
    assert import_subjects(io.StringIO(f"code,name,tier\n{s1},命令行有限公司,orange\n")).ok
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n{s1},一般,未按期报送年度报告,海口市市场监督管理局,2025-01-01,\n", encoding="utf-8")
    result = cli_runner("import-dishonesty", good)
    assert result.exit_code == 0, result.output
    assert "imported 1 row(s), 0 bad row(s)" in result.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n{s1},一般,未按期报送年度报告,海口市市场监督管理局,2025-01-01,\n"
                   f"{s1},严重,,海口市市场监督管理局,2025-01-01,\n", encoding="utf-8")
    result = cli_runner("import-dishonesty", bad)
    assert result.exit_code != 0
    assert "line 3:" in result.stderr
    assert DishonestyRecord.select().count() == 1


# ---------------------------------------------------------------------------------------------
# effective tier
# ---------------------------------------------------------------------------------------------
def test_effective_tier_is_the_imported_tier(schemes):
    (code,) = org_codes(1001, 1)
    orange = tier("haikou", "orange")
    subject = make_subject(code, "守信有限公司", orange)
    t = effective_tier(subject)
    assert (t.code, t.rank, t.label, t.scheme, t.imported) == ("orange", orange.rank, orange.label, "haikou",
                                                             "orange")
    assert not t.blacklisted and not t.has_dishonesty_record and t.records == ()
    assert any(orange.label in r for r in t.reasons)


def test_effective_tier_without_imported_tier_is_the_scheme_default(schemes):
    subject = make_subject(person_code(1101), "张敏", None)
    scheme = active_scheme()
    default = tier(scheme.code, scheme.default_tier_code)
    t = effective_tier(subject)
    assert (t.code, t.imported) == (default.code, None)
    assert "未导入" in t.reasons[0] and default.label in t.reasons[0]


def test_active_severe_record_caps_at_worst_tier_and_blacklists(schemes):
    (code,) = org_codes(1201, 1)
    subject = make_subject(code, "失信有限公司", tier("haikou", "red"))
    add_record(subject, SEVERE, TODAY - 30 * DAY, reason="被人民法院列为失信被执行人")
    t = effective_tier(subject)
    worst = Tier.get((Tier.scheme == active_scheme()) & (Tier.rank == 0))
    assert (t.code, t.rank, t.imported) == (worst.code, 0, "red")
    assert t.is_worst and t.blacklisted and t.has_dishonesty_record
    assert [r["reason"] for r in t.records] == ["被人民法院列为失信被执行人"]
    assert any("严重失信" in r for r in t.reasons)

    # a record ending today is still in force today
    (code2,) = org_codes(1202, 1)
    other = make_subject(code2, "今日到期有限公司", tier("haikou", "orange"))
    add_record(other, SEVERE, TODAY - 400 * DAY, end=TODAY)
    assert effective_tier(other).blacklisted


@pytest.mark.parametrize("case", ["ended", "repaired", "future"])
def test_inactive_records_do_not_count(schemes, case):
    (code,) = org_codes(1300 + len(case), 1)
    subject = make_subject(code, f"{case}有限公司", tier("haikou", "red"))
    if case == "ended":
        add_record(subject, SEVERE, TODAY - 400 * DAY, end=TODAY - DAY)
    elif case == "repaired":
        add_record(subject, SEVERE, TODAY - 400 * DAY, repaired_at=dt.datetime.now() - dt.timedelta(days=2))
    else:
        add_record(subject, SEVERE, TODAY + 10 * DAY)
    t = effective_tier(subject)
    assert t.code == "red"
    assert not t.blacklisted and not t.has_dishonesty_record and t.records == ()
    if case == "future":
        # ... but it counts on the day it starts
        later = effective_tier(subject, on=TODAY + 10 * DAY)
        assert later.blacklisted and later.rank == 0


def test_general_record_keeps_the_tier_but_is_a_record(schemes):
    (code,) = org_codes(1401, 1)
    subject = make_subject(code, "一般失信有限公司", tier("haikou", "orange"))
    add_record(subject, GENERAL, TODAY - 5 * DAY, end=TODAY + 300 * DAY, reason="未按期报送年度报告")
    t = effective_tier(subject)
    assert t.code == "orange"
    assert t.has_dishonesty_record and not t.blacklisted
    assert [r["severity"] for r in t.records] == [GENERAL]


@pytest.mark.parametrize("scheme,code,expected", [
    # Jiangdu A–E onto Haikou 红橙蓝黑 by relative position: best↔best, second↔second,
    # second worst↔second worst, worst↔worst.
    ("jiangdu", "A", "red"), ("jiangdu", "B", "orange"), ("jiangdu", "D", "blue"), ("jiangdu", "E", "black"),
    ("hangzhou", "green", "red"), ("hangzhou", "black", "black"),
])
def test_tier_of_another_scheme_maps_by_relative_position(schemes, scheme, code, expected):
    (subject_code,) = org_codes(1500 + ord(code[0]) + len(scheme), 1)
    subject = make_subject(subject_code, "外地评级有限公司", tier(scheme, code))
    t = effective_tier(subject)
    assert (t.scheme, t.code, t.imported) == ("haikou", expected, code)
    assert any("相对位置" in r for r in t.reasons)


def test_activate_scheme_switches_the_effective_tier(schemes):
    jd, hk, unrated, dishonest = org_codes(1601, 4)
    jiangdu_b = make_subject(jd, "江都评级有限公司", tier("jiangdu", "B"))
    haikou_red = make_subject(hk, "海口评级有限公司", tier("haikou", "red"))
    no_tier = make_subject(unrated, "未评级有限公司", None)
    severe = make_subject(dishonest, "严重失信有限公司", tier("haikou", "red"))
    add_record(severe, SEVERE, TODAY - DAY)

    activate_scheme("jiangdu")
    assert [s.code for s in TierScheme.select().where(TierScheme.active == True)] == ["jiangdu"]  # noqa: E712
    assert effective_tier(jiangdu_b).code == "B"
    assert effective_tier(haikou_red).code == "A"
    assert effective_tier(no_tier).code == TierScheme.get(TierScheme.code == "jiangdu").default_tier_code
    assert (effective_tier(severe).code, effective_tier(severe).rank) == ("E", 0)

    activate_scheme("haikou")
    assert active_scheme().code == "haikou"
    assert effective_tier(jiangdu_b).code == "orange"
    assert effective_tier(haikou_red).code == "red"


# ---------------------------------------------------------------------------------------------
# xinyipi subject
# ---------------------------------------------------------------------------------------------
def test_cli_subject_shows_imported_and_effective_tier(schemes, cli_runner):
    (code,) = org_codes(1701, 1)
    red = tier("haikou", "red")
    subject = make_subject(code, "命令行查询有限公司", red)
    add_record(subject, SEVERE, TODAY - 3 * DAY, reason="重大税收违法失信案件当事人")
    expected = effective_tier(subject)

    result = cli_runner("subject", code.lower())
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "命令行查询有限公司" in out and code in out
    assert f"imported tier: {red.label} (red)" in out
    assert f"effective tier: {expected.label} ({expected.code})" in out and expected.code == "black"
    assert "BLACKLISTED" in out
    for reason in expected.reasons:
        assert reason in out
    assert "重大税收违法失信案件当事人" in out


def test_cli_subject_without_tier(schemes, cli_runner):
    person = person_code(1801)
    make_subject(person, "刘芳", None)
    result = cli_runner("subject", person)
    assert result.exit_code == 0, result.output
    scheme = active_scheme()
    default = tier(scheme.code, scheme.default_tier_code)
    assert "imported tier: —" in result.stdout
    assert f"effective tier: {default.label} ({default.code})" in result.stdout
    assert "BLACKLISTED" not in result.stdout
    assert "自然人" in result.stdout


def test_cli_subject_refuses_invalid_codes_naming_the_rule(schemes, cli_runner):
    (code,) = org_codes(1901, 1)
    result = cli_runner("subject", with_wrong_check(code))
    assert result.exit_code != 0
    assert "GB 32100" in result.stderr and "校验码" in result.stderr

    person = person_code(1902)
    wrong = person[:-1] + next(c for c in "0123456789X" if c != id_check_char(person[:17]))
    result = cli_runner("subject", wrong)
    assert result.exit_code != 0
    assert "GB 11643" in result.stderr

    result = cli_runner("subject", "12345")
    assert result.exit_code != 0
    assert "18" in result.stderr


def test_cli_subject_unknown_valid_code(schemes, cli_runner):
    (code,) = org_codes(2001, 1)
    assert credit_code_check_char(code[:17]) == code[-1]
    result = cli_runner("subject", code)
    assert result.exit_code != 0
    assert code in result.stderr and "不存在" in result.stderr
    assert result.stdout == ""
