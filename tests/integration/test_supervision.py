"""The credit loop after approval, end to end on the real engine and database: commitments verified,
inspections drawn by tier from a recorded seed, a breach (failed check or missed supplement deadline)
revoking the case, recording dishonesty and lowering the tier in one transaction, and credit repair
restoring it."""
from __future__ import annotations

import datetime as _dt
import json
from zoneinfo import ZoneInfo

import pytest

from helpers import actor_for, add_record, matter_with, new_subject, values_for, work_through
from plugin.accounts import StaffUser
from plugin.applications import materials, service
from plugin.applications.models import Application, AuditEntry, HumanTask
from plugin.calendar import add_working_days
from plugin.catalog.facts import matter_facts
from plugin.catalog.negative_list import is_closed_to
from plugin.credit import archive as credit_archive
from plugin.credit.models import DishonestyRecord, Subject, TierChange
from plugin.credit.tiers import effective_tier
from plugin.engine.forms import FormErrors
from plugin.engine.scripting import frozen_clock
from plugin.supervision import service as supervision
from plugin.supervision.models import InspectionDraw, SupervisionItem

SHANGHAI = ZoneInfo("Asia/Shanghai")


def supervisor(username="supervisor"):
    user = StaffUser.get(StaffUser.username == username)
    return service.Actor.staff(user.username, user.role)


def commitment_case(seed: int):
    """An orange subject's notification-commitment case, signed and so approved at once."""
    subject = new_subject("orange", seed=seed)
    app = service.apply(matter_with("commitment", negative=False).code, subject.code)
    [task] = service.ready_tasks(app)
    assert task["name"] == "签署告知承诺书"
    _kind, text = service.pending_commitment(app, task)
    service.complete_applicant_task(app.number, task["id"], values_for(task), actor_for(app, "applicant"),
                                    shown_sha256=materials.text_hash(text))
    return service.get(app.number), subject


def negative_list_matter():
    return matter_with("standard_review", negative=True)


def test_an_approved_commitment_opens_its_verification_and_a_pass_keeps_the_licence(seeded):
    app, subject = commitment_case(1)
    assert (app.status, app.path) == ("approved", "commitment")
    [item] = SupervisionItem.select().where(SupervisionItem.application == app)
    today = _dt.datetime.now(SHANGHAI).date()
    assert (item.kind, item.state, item.tier_code) == ("verification", "pending", "orange")
    assert item.due_date == add_working_days(today, supervision.DEFAULT_DAYS)
    assert AuditEntry.get((AuditEntry.application == app) & (AuditEntry.action == "verification_opened"))

    with pytest.raises(service.NotAllowed):
        supervision.record_result(item.id, True, "核查属实", actor_for(app, "reviewer"))
    with pytest.raises(supervision.SupervisionError, match="核查（检查）情况"):
        supervision.record_result(item.id, True, " ", supervisor())
    done = supervision.record_result(item.id, True, "现场核查，承诺事项属实", supervisor())
    assert (done.state, done.recorded_by) == ("passed", "supervisor")
    assert service.get(app.number).status == "approved"
    assert not DishonestyRecord.select().where(DishonestyRecord.subject == subject).exists()
    # recorded once: a second supervisor's result is refused, the first stays
    with pytest.raises(service.Conflict, match="已由 supervisor 记录"):
        supervision.record_result(item.id, False, "不属实", supervisor("supervisor2"))
    assert SupervisionItem.get_by_id(item.id).state == "passed"
    assert service.get(app.number).status == "approved"


def test_a_failed_verification_revokes_records_dishonesty_lowers_the_tier_and_closes_the_negative_list(seeded):
    app, subject = commitment_case(2)
    closed_matter = negative_list_matter()
    assert is_closed_to(closed_matter, subject) is None
    before = effective_tier(subject)
    assert (before.code, before.blacklisted) == ("orange", False)
    [item] = SupervisionItem.select().where(SupervisionItem.application == app)

    supervision.record_result(item.id, False, "经营场所与承诺不符", supervisor(), severity="严重")

    case = service.get(app.number)
    assert case.status == "revoked" and case.revoked_at is not None
    assert "告知承诺核查不实" in case.revocation_reason and "经营场所与承诺不符" in case.revocation_reason
    [record] = DishonestyRecord.select().where(DishonestyRecord.subject == subject)
    assert (record.severity, record.case_number, record.repaired_at) == ("严重", app.number, None)
    after = effective_tier(Subject.get_by_id(subject.id))
    assert (after.code, after.blacklisted) == ("black", True)
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.from_code, change.to_code, change.to_blacklisted, change.cause) == ("orange", "black", True, "breach")
    actions = [a.action for a in AuditEntry.select().where(AuditEntry.application == app).order_by(AuditEntry.id)]
    assert actions[-4:] == ["verification_failed", "revoked", "dishonesty_recorded", "tier_changed"]
    # the negative list is now closed to the subject, and an application there is refused
    assert is_closed_to(closed_matter, Subject.get_by_id(subject.id)) is not None
    refused = service.apply(closed_matter.code, subject.code)
    assert refused.status == "refused"


def test_a_failure_that_cannot_revoke_saves_nothing(seeded):
    """The result, the revocation and the record are one transaction: when the case cannot be
    revoked (here it was already revoked by another check), the result is not recorded either."""
    app, subject = commitment_case(3)
    [item] = SupervisionItem.select().where(SupervisionItem.application == app)
    Application.update(status="rejected").where(Application.id == app.id).execute()
    with pytest.raises(service.ApplicationError, match="只有准予许可的办件可以撤销"):
        supervision.record_result(item.id, False, "不属实", supervisor())
    assert SupervisionItem.get_by_id(item.id).state == "pending"
    assert not DishonestyRecord.select().where(DishonestyRecord.subject == subject).exists()
    assert not TierChange.select().where(TierChange.subject == subject).exists()
    assert not AuditEntry.select().where((AuditEntry.application == app)
                                         & (AuditEntry.action == "verification_failed")).exists()


def test_supplement_deadline_across_national_day_is_counted_in_working_days_and_its_breach_found_by_tick(seeded):
    """Approved on Wed 30 Sep 2026 with 5 working days to supplement: 1–7 Oct are National Day,
    Sat 10 Oct is an adjusted working day, so the days are 8, 9, 10, 12, 13 Oct. A tick on 9 Oct
    (five weekdays later, but only two working days) fires nothing; a tick on 14 Oct finds the
    breach: revoked, dishonesty recorded, the tier lowered."""
    matter = next(m for m in [matter_with("tolerance", negative=False)] if matter_facts(m.code).supplement_days)
    days = matter_facts(matter.code).supplement_days
    subject = new_subject("orange", seed=21)
    with frozen_clock(_dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)):
        app = service.apply(matter.code, subject.code)
        for _ in range(3):  # 签署容缺受理承诺书, 审查, 决定
            [task] = service.ready_tasks(service.get(app.number))
            service.complete_task(app.number, task["id"], values_for(task), actor_for(app, task["lane"]))
    case = service.get(app.number)
    assert case.status == "approved"
    [task] = service.ready_tasks(case)
    assert task["name"] == "补正容缺材料"
    deadline = add_working_days(_dt.date(2026, 9, 30), days)
    assert deadline > _dt.date(2026, 10, 7)  # the holiday does not count
    if days == 5:
        assert deadline == _dt.date(2026, 10, 13)
    due = case.next_due_at.replace(tzinfo=_dt.timezone.utc).astimezone(SHANGHAI)
    assert (due.date(), due.time()) == (deadline, _dt.time(23, 59, 59))

    with frozen_clock(_dt.datetime(2026, 10, 9, 12, 0, tzinfo=SHANGHAI)):
        assert service.tick().fired == 0
    with frozen_clock(_dt.datetime.combine(deadline, _dt.time(23, 0), SHANGHAI)):
        assert service.tick().fired == 0  # the last day is the applicant's to the end
    assert service.get(app.number).status == "approved"
    with frozen_clock(_dt.datetime.combine(deadline + _dt.timedelta(days=1), _dt.time(9, 0), SHANGHAI)):
        report = service.tick()
    assert (report.fired, report.revoked, report.errors) == (1, 1, [])

    case = service.get(app.number)
    assert case.status == "revoked" and "补正" in case.revocation_reason
    assert not HumanTask.select().where((HumanTask.application == case) & (HumanTask.state == "ready")).exists()
    [record] = DishonestyRecord.select().where(DishonestyRecord.subject == subject)
    assert record.case_number == app.number and record.start == deadline + _dt.timedelta(days=1)
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.from_code, change.to_code) == ("orange", "black")
    assert is_closed_to(negative_list_matter(), Subject.get_by_id(subject.id)) is not None


def test_supplement_in_time_across_the_holiday_is_no_breach(seeded, tmp_path):
    matter = matter_with("tolerance", negative=False)
    subject = new_subject("orange", seed=22)
    with frozen_clock(_dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)):
        app = service.apply(matter.code, subject.code)
        for _ in range(3):
            [task] = service.ready_tasks(service.get(app.number))
            service.complete_task(app.number, task["id"], values_for(task), actor_for(app, task["lane"]))
    # on 12 Oct (after the holiday, before the deadline) the applicant supplements
    with frozen_clock(_dt.datetime(2026, 10, 12, 15, 0, tzinfo=SHANGHAI)):
        case = service.get(app.number)
        [task] = service.ready_tasks(case)
        files = {}
        for owed in materials.owed(case):
            (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4\n" + b"x" * 200)
            with open(tmp_path / "a.pdf", "rb") as f:
                files[owed.material_code] = materials.store_file(f, "a.pdf", str(tmp_path / "up"), 5)
        service.complete_supplement(app.number, task["id"], {"note": "已补齐"}, files,
                                    service.Actor.applicant(subject.code))
        assert service.tick().fired == 0
    case = service.get(app.number)
    assert case.status == "approved" and case.next_due_at is None
    assert not DishonestyRecord.select().where(DishonestyRecord.subject == subject).exists()


def approved_cases(count_red: int, count_blue: int) -> list[int]:
    ids = []
    instant = matter_with("instant_approval", negative=False)
    for i in range(count_red):
        app = service.apply(instant.code, new_subject("red", seed=300 + i).code)
        assert app.status == "approved", app.status
        ids.append(app.id)
    for i in range(count_blue):
        app = service.apply(instant.code, new_subject("blue", seed=400 + i).code)
        app, _ = work_through(app)
        assert app.status == "approved", app.status
        ids.append(app.id)
    return ids


def test_an_inspection_draw_is_the_same_for_the_same_seed_and_follows_the_tier_ratios(seeded):
    ids = approved_cases(count_red=60, count_blue=12)
    today = _dt.datetime.now(SHANGHAI).date()
    first = supervision.plan(None, today, seed=20261123)
    second = supervision.plan(None, today, seed=20261123)
    assert first.drawn == second.drawn and first.population == second.population
    counts = {row["tier"]: row for row in first.counts()}
    # red 2 % of 60 → 2 (rounded up); blue 10 % of 12 → 2 (rounded up from 1.2)
    assert (counts["red"]["population"], counts["red"]["drawn"]) == (60, 2)
    assert (counts["blue"]["population"], counts["blue"]["drawn"]) == (12, 2)
    assert {d.application_id for d in first.drawn} <= set(ids)
    pool = {"supervisor", "supervisor2", "supervisor3"}
    assert {d.inspector for d in first.drawn} <= pool
    # another seed draws otherwise (at least one of a few seeds differs)
    assert any(supervision.plan(None, today, seed=s).drawn != first.drawn for s in (1, 2, 3))

    # the tier that decides the ratio is the subject's effective tier on the day of the draw
    lapsed = Application.get_by_id(ids[0])
    add_record(lapsed.subject, "严重", reason="抽查前新增的严重失信")
    assert dict(map(tuple, supervision.plan(None, today, seed=1).population))[lapsed.id] == "black"
    DishonestyRecord.delete().where(DishonestyRecord.subject == lapsed.subject).execute()

    record = supervision.draw(None, today, "supervisor", seed=20261123)
    stored = sorted((i.application_id, i.assignee, i.tier_code) for i in record.items)
    assert stored == sorted((d.application_id, d.inspector, d.tier) for d in first.drawn)
    assert (record.seed, record.population_count, record.drawn_count) == (20261123, 72, 4)
    assert supervision.replay(InspectionDraw.get_by_id(record.id)) == first.drawn
    assert all(i.due_date == add_working_days(today, supervision.DEFAULT_DAYS) for i in record.items)
    # cases under an open inspection are not drawn again
    again = supervision.plan(None, today, seed=20261123)
    assert len(again.population) == 72 - 4
    assert not {d.application_id for d in again.drawn} & {i.application_id for i in record.items}


def test_an_inspection_is_recorded_by_its_inspector_and_a_failure_is_a_breach(seeded):
    approved_cases(count_red=3, count_blue=0)
    StaffUser.update(active=False).where(StaffUser.username.in_(["supervisor2", "supervisor3"])).execute()
    record = supervision.draw(None, _dt.datetime.now(SHANGHAI).date(), "supervisor", seed=7)
    assert record.inspectors == ["supervisor"]  # inactive supervisors are not in the pool
    item = record.items.first()
    StaffUser.update(active=True).execute()
    with pytest.raises(service.NotAllowed, match="指派给了 supervisor"):
        supervision.record_result(item.id, False, "不合格", supervisor("supervisor2"))
    supervision.record_result(item.id, False, "现场检查发现无证经营", supervisor(), severity="一般")
    case = Application.get_by_id(item.application_id)
    assert case.status == "revoked" and "双随机抽查不合格" in case.revocation_reason
    [rec] = DishonestyRecord.select().where(DishonestyRecord.case_number == case.number)
    assert rec.severity == "一般"
    tier = effective_tier(case.subject)
    # a general record does not move the tier (so no tier change is kept), but it counts as a record
    assert tier.has_dishonesty_record and not tier.blacklisted
    assert not TierChange.select().where(TierChange.subject == case.subject).exists()


def test_no_supervisor_no_draw(seeded):
    StaffUser.update(active=False).where(StaffUser.role == "supervisor").execute()
    with pytest.raises(supervision.SupervisionError, match="没有可指派的检查人员"):
        supervision.plan(None, _dt.date(2026, 11, 23))
    with pytest.raises(supervision.SupervisionError, match="不存在"):
        supervision.plan("NO-SUCH-MATTER", _dt.date(2026, 11, 23))


def test_sample_command_draws_with_the_systems_seed_audits_dry_runs_and_replays(seeded, cli_runner):
    approved_cases(count_red=5, count_blue=0)
    matter = matter_with("instant_approval", negative=False)
    today = _dt.datetime.now(SHANGHAI).date().isoformat()
    bad = cli_runner("sample", "--date", today)
    assert bad.exit_code != 0 and "--matter CODE or --all" in bad.output
    # nobody picks the seed, not on the command line either
    chosen = cli_runner("sample", "--matter", matter.code, "--date", today, "--seed", "99")
    assert chosen.exit_code != 0 and "--seed" in chosen.output and not InspectionDraw.select().exists()
    dry = cli_runner("sample", "--matter", matter.code, "--date", today, "--dry-run", "--by", "auditor")
    assert dry.exit_code == 0, dry.output
    assert "dry run: seed " in dry.output and not InspectionDraw.select().exists()
    preview = AuditEntry.get(AuditEntry.action == "inspection.preview")
    assert preview.actor == "auditor" and preview.detail["matter"] == matter.code
    assert f"seed {preview.detail['seed']}," in dry.output
    real = cli_runner("sample", "--matter", matter.code, "--date", today, "--by", "supervisor")
    assert real.exit_code == 0, real.output
    record = InspectionDraw.get()
    assert record.matter_code == matter.code and f"seed {record.seed}," in real.output
    assert AuditEntry.get(AuditEntry.action == "inspection.draw").detail["draw"] == record.id
    replay = cli_runner("sample", "--replay", record.id)
    assert replay.exit_code == 0 and "replayed: same" in replay.output
    for missing in ("99999", "99999999999999999999"):
        gone = cli_runner("sample", "--replay", missing)
        assert gone.exit_code != 0 and "不存在" in gone.output
    assert cli_runner("sample", "--all", "--date", "2026-13-01").exit_code != 0


def test_credit_repair_repairs_the_named_records_restores_the_tier_and_opens_the_negative_list(seeded):
    subject = new_subject("orange", seed=31)
    record = add_record(subject, "严重", reason="虚假承诺")
    other = new_subject("blue", seed=32)
    someone_elses = add_record(other, "严重", reason="别人的记录")
    closed_matter = negative_list_matter()
    assert is_closed_to(closed_matter, subject) is not None
    repair = service.repair_matter()
    assert repair is not None and is_closed_to(repair, subject) is None  # repair is never closed

    app = service.apply(repair.code, subject.code)
    assert app.path == "repair"
    [task] = service.ready_tasks(app)
    applicant = service.Actor.applicant(subject.code)
    for wrong, message in ((f"{someone_elses.id}", "不是本主体未修复的失信记录"), ("abc", "只能是数字"), ("，", "请填写"), ("", "必填")):
        values = dict(values_for(task), record_ids=wrong)
        with pytest.raises(FormErrors) as e:
            service.complete_task(app.number, task["id"], values, applicant)
        assert message in e.value.errors["record_ids"], e.value.errors
    assert service.get(app.number).version == app.version  # nothing saved

    service.complete_task(app.number, task["id"], dict(values_for(task), record_ids=f"{record.id}"), applicant)
    app, done = work_through(service.get(app.number))
    assert done == ["审核", "决定"] and app.status == "approved"

    assert DishonestyRecord.get_by_id(record.id).repaired_at is not None
    assert DishonestyRecord.get_by_id(someone_elses.id).repaired_at is None
    tier = effective_tier(Subject.get_by_id(subject.id))
    assert (tier.code, tier.blacklisted) == ("orange", False)
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.from_code, change.to_code, change.cause) == ("black", "orange", "repair")
    assert is_closed_to(closed_matter, Subject.get_by_id(subject.id)) is None
    assert service.apply(closed_matter.code, subject.code).status != "refused"


def test_breach_then_repair_round_trip_in_the_credit_archive(seeded):
    app, subject = commitment_case(41)
    [item] = SupervisionItem.select().where(SupervisionItem.application == app)
    supervision.record_result(item.id, False, "=HYPERLINK(\"x\") 承诺不实", supervisor())
    [record] = DishonestyRecord.select().where(DishonestyRecord.subject == subject)
    repair = service.apply(service.repair_matter().code, subject.code)
    [task] = service.ready_tasks(repair)
    service.complete_task(repair.number, task["id"], dict(values_for(task), record_ids=str(record.id)),
                          service.Actor.applicant(subject.code))
    work_through(service.get(repair.number))

    data = credit_archive.archive(subject.code)
    assert data["subject"]["code"] == subject.code and data["tier"]["code"] == "orange"
    assert [a["number"] for a in data["applications"]] == [app.number, repair.number]
    assert data["applications"][0]["status"] == "revoked" and data["applications"][0]["revocation_reason"]
    assert [c["kind"] for c in data["commitments"]] == ["notification"]
    assert data["dishonesty_records"][0]["repaired_at"] is not None
    assert [s["state"] for s in data["supervision"]] == ["failed"]
    assert [(t["from"], t["to"], t["cause"]) for t in data["tier_changes"]] == [("orange", "black", "breach"),
                                                                                 ("black", "orange", "repair")]
    assert any("受理时等级 橙色（orange），办理路径 告知承诺" in e["detail"] for e in data["events"])
    assert any(e["what"].startswith("等级 橙色（orange） → 黑色（black）") for e in data["events"])
    kinds = [e["kind"] for e in data["events"]]
    for kind in ("application", "commitment", "revocation", "dishonesty", "repair", "supervision", "tier_change"):
        assert kind in kinds, kind
    assert [e["at"] for e in data["events"]] == sorted(e["at"] for e in data["events"])

    assert json.loads(credit_archive.to_json(data))["tier_changes"] == data["tier_changes"]
    text = credit_archive.to_csv(data)
    assert text.startswith("\ufeff时间,类别,事件,办件编号")
    assert len(text.strip().splitlines()) == len(data["events"]) + 1
    assert "'=HYPERLINK" in text  # free text cannot start a spreadsheet formula
    with pytest.raises(credit_archive.InvalidCode):
        credit_archive.archive("123")


def test_archive_command(seeded, cli_runner, tmp_path):
    app, subject = commitment_case(51)
    out = cli_runner("archive", subject.code)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["applications"][0]["number"] == app.number
    path = tmp_path / "a.csv"
    written = cli_runner("archive", subject.code, "--format", "csv", "-o", path)
    assert written.exit_code == 0, written.output
    assert app.number in path.read_text(encoding="utf-8-sig")
    assert cli_runner("archive", "91460100MA5T000000").exit_code != 0


def test_a_claimed_task_is_completed_by_its_claimant_only(seeded):
    app = service.apply(matter_with("standard_review", negative=False).code, new_subject("blue", seed=61).code)
    [task] = service.ready_tasks(app)
    first = service.Actor.staff("reviewer", "reviewer")
    second = service.Actor.staff("reviewer2", "reviewer")
    claimed = service.claim_task(task["id"], first)
    assert claimed.claimed_by == "reviewer"
    with pytest.raises(service.Claimed, match="已由 reviewer 认领"):
        service.claim_task(task["id"], second)
    with pytest.raises(service.Claimed, match="已由 reviewer 认领"):
        service.complete_task(app.number, task["id"], values_for(task), second)
    assert service.get(app.number).version == app.version
    with pytest.raises(service.NotAllowed):
        service.claim_task(task["id"], service.Actor.staff("approver", "approver"))
    with pytest.raises(service.Claimed, match="只有认领人可以释放"):
        service.release_task(task["id"], second)
    service.release_task(task["id"], first)
    service.claim_task(task["id"], second)
    service.complete_task(app.number, task["id"], values_for(task), second)
    row = HumanTask.get(HumanTask.task_id == task["id"])
    assert (row.state, row.claimed_by) == ("completed", "reviewer2")
    with pytest.raises(service.Conflict, match="已完成"):
        service.claim_task(task["id"], first)
    with pytest.raises(service.Conflict, match="已完成"):
        service.release_task(task["id"], second)
    actions = [a.action for a in AuditEntry.select().where(AuditEntry.application == app).order_by(AuditEntry.id)]
    assert actions.count("task_claimed") == 2 and actions.count("task_released") == 1


def test_demo_cases_for_a_newcomer_cover_the_loop_and_load_once(db, cli_runner):
    first = cli_runner("seed", "--demo-cases")
    assert first.exit_code == 0, first.output
    statuses = {}
    for app in Application.select():
        statuses[app.status] = statuses.get(app.status, 0) + 1
    assert statuses.get("approved", 0) >= 9 and statuses.get("refused") == 1 and statuses.get("in_review", 0) >= 3
    lanes = {t.lane for t in HumanTask.select().where(HumanTask.state == "ready")}
    assert {"reviewer", "approver"} <= lanes
    assert SupervisionItem.select().where(SupervisionItem.kind == "verification").count() == 3
    assert InspectionDraw.get().seed == 20261123
    again = cli_runner("seed", "--demo-cases")
    assert again.exit_code == 0 and "skipped" in again.output
    assert Application.select().count() == sum(statuses.values())


def test_the_credit_platform_fetches_an_archive_with_its_token(seeded, database_url):
    from plugin import create_app
    app_case, subject = commitment_case(71)
    closed = create_app({"XINYIPI_DATABASE_URL": database_url, "XINYIPI_SECRET_KEY": "t"}).test_client()
    assert closed.get(f"/api/v1/subjects/{subject.code}/archive").status_code == 403
    client = create_app({"XINYIPI_DATABASE_URL": database_url, "XINYIPI_SECRET_KEY": "t",
                         "XINYIPI_API_TOKEN": "platform-secret"}).test_client()
    url = f"/api/v1/subjects/{subject.code}/archive"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": "Bearer platform-secret"}
    r = client.get(url, headers=auth)
    assert r.status_code == 200 and r.get_json()["applications"][0]["number"] == app_case.number
    r = client.get(url + "?format=csv", headers=auth)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert app_case.number in r.get_data(as_text=True)
    assert "attachment" in r.headers["Content-Disposition"]
    assert client.get(url + "?format=xml", headers=auth).status_code == 400
    assert client.get("/api/v1/subjects/123/archive", headers=auth).status_code == 400
    assert client.get("/api/v1/subjects/91460100MA5T000000/archive", headers=auth).status_code in (400, 404)


def test_the_draw_benchmark_prints_its_figures_against_the_baseline(seeded):
    import io
    from benchmarks.service import inspection_draw
    out = io.StringIO()
    result = inspection_draw(400, "test", out, repeat=2)
    # 100 subjects over the four Haikou tiers, 4 cases each: 100 cases a tier at 2 %, 5 %, 10 %, 30 %
    assert (result["n"], result["subjects"], result["drawn"]) == (400, 100, 2 + 5 + 10 + 30)
    assert result["ratio"] > 0 and "cost" in out.getvalue() and "400 approved cases" in out.getvalue()
