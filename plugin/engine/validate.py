"""`validate`: everything a process designer needs to know before publishing a diagram.

Checks, each error naming the element id and the problem:
- the XML is BPMN, without DTDs or entities, with one executable process;
- every element is one the engine supports;
- every condition, script and timer expression is safe Python (scripting.check_source);
- every user task sits in a known lane, and its `camunda:formData` parses;
- every exclusive gateway has a default flow, or conditions that cover every
  tier of the active scheme (found by the dry run);
then dry-runs the diagram once per tier of the active scheme (and once more
per tier for a subject with a dishonesty record), reporting which path and
end each reaches and which human tasks it meets, and explores each tier again
with varied applicants and matter facts (a script cannot recognise "the dry
run" by a fixed sample applicant).

All of it runs in a separate process with CPU, memory and wall-clock limits
(`plugin.engine.isolation`): the diagram has not been reviewed yet.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import random
import secrets

from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway, InclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from plugin.engine import forms, isolation, runtime
from plugin.engine.definitions import (NSMAP, DiagramError, expression_problems, parse_process, parse_xml,
                                       spec_from_json, spec_to_json)
from plugin.engine.scripting import DECISIONS, PATHS, UnsafeScript, business_now, check_source, frozen_clock
from plugin.roles import LANES  # noqa: F401  (re-exported: callers import LANES from here)

UNSUPPORTED = {
    "complexGateway": "复杂网关",
    "businessRuleTask": "业务规则任务（DMN）",
    "serviceTask": "服务任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "transaction": "事务子流程",
    "adHocSubProcess": "特别子流程",
    "callActivity": "调用活动",
    "messageEventDefinition": "消息事件",
    "signalEventDefinition": "信号事件",
    "escalationEventDefinition": "升级事件",
    "compensateEventDefinition": "补偿事件",
    "conditionalEventDefinition": "条件事件",
    "linkEventDefinition": "链接事件",
}
MAX_STEPS = 200
MAX_FLOW_ELEMENTS = 1_000     # tasks, events, gateways and flows in one diagram
MAX_BRANCHES = 50             # outgoing flows of one gateway
RESOURCE_MARKS = ("死循环", "限制")
VARIANTS = 2                  # extra dry runs per tier and record state, with varied data
FLOW_TAGS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
             "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
             "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
             "eventBasedGateway", "complexGateway", "sequenceFlow"}


@dataclasses.dataclass
class Problem:
    element_id: str | None
    message: str

    def __str__(self):
        return f"{self.element_id}: {self.message}" if self.element_id else self.message


@dataclasses.dataclass
class DryRun:
    tier: str
    tier_label: str
    has_record: bool
    path: str | None = None
    decision: str | None = None
    end: str | None = None
    human_tasks: list[str] = dataclasses.field(default_factory=list)
    visited: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    error_element: str | None = None
    variant: str = ""            # "" for the tier's main run; what was varied otherwise

    def line(self) -> str:
        who = f"{self.tier_label}（{self.tier}）" + ("+失信记录" if self.has_record else "")
        if self.variant:
            who += f"［{self.variant}］"
        if self.error:
            return f"{who}: 出错 — {self.error}"
        tasks = "、".join(self.human_tasks) if self.human_tasks else "无人工环节"
        return f"{who}: 路径 {self.path or '?'} → {self.end or '?'}（decision={self.decision}）；人工环节：{tasks}"


@dataclasses.dataclass
class Report:
    process_id: str | None = None
    name: str = ""
    errors: list[Problem] = dataclasses.field(default_factory=list)
    warnings: list[Problem] = dataclasses.field(default_factory=list)
    runs: list[DryRun] = dataclasses.field(default_factory=list)
    explored: list[DryRun] = dataclasses.field(default_factory=list)   # the varied runs of each tier
    spec_pair: tuple | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        return cls(process_id=data.get("process_id"), name=data.get("name", ""),
                   errors=[Problem(**p) for p in data.get("errors", [])],
                   warnings=[Problem(**p) for p in data.get("warnings", [])],
                   runs=[DryRun(**{k: v for k, v in r.items() if k != "line"}) for r in data.get("runs", [])],
                   explored=[DryRun(**{k: v for k, v in r.items() if k != "line"}) for r in data.get("explored", [])])

    def tier_paths(self) -> dict:
        out: dict = {}
        for run in self.runs:
            out.setdefault(run.tier, {})["record" if run.has_record else "clean"] = run.path or "standard"
        return out

    def lines(self) -> list[str]:
        out = [f"流程 {self.process_id or '?'}（{self.name}）"]
        out += [f"ERROR {p}" for p in self.errors]
        out += [f"WARNING {p}" for p in self.warnings]
        if self.runs:
            out.append("各信用等级试运行：")
            out += ["  " + r.line() for r in self.runs + [r for r in self.explored if r.error]]
        out.append("校验通过" if self.ok else f"校验未通过：{len(self.errors)} 个错误")
        return out

    def as_dict(self) -> dict:
        return {"process_id": self.process_id, "name": self.name, "ok": self.ok,
                "errors": [dataclasses.asdict(p) for p in self.errors],
                "warnings": [dataclasses.asdict(p) for p in self.warnings],
                "runs": [dataclasses.asdict(r) | {"line": r.line()} for r in self.runs],
                "explored": [dataclasses.asdict(r) | {"line": r.line()} for r in self.explored]}


def _local(tag) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _owner_id(node) -> str | None:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def size_checks(root, report: Report) -> None:
    """Bounded diagrams: no more than MAX_FLOW_ELEMENTS elements, no gateway with more than
    MAX_BRANCHES outgoing flows (an 800-branch parallel split is refused, not run)."""
    count = sum(1 for node in root.iter() if isinstance(node.tag, str) and _local(node.tag) in FLOW_TAGS)
    if count > MAX_FLOW_ELEMENTS:
        report.errors.append(Problem(None, f"流程图过大：{count} 个元素，上限 {MAX_FLOW_ELEMENTS}；请拆分为多个流程"))
    outgoing: dict[str, int] = {}
    for flow in root.iterfind(".//bpmn:sequenceFlow", NSMAP):
        source = flow.get("sourceRef") or ""
        outgoing[source] = outgoing.get(source, 0) + 1
    for node in root.iter():
        if isinstance(node.tag, str) and _local(node.tag).endswith("Gateway"):
            branches = outgoing.get(node.get("id") or "", 0)
            if branches > MAX_BRANCHES:
                report.errors.append(Problem(node.get("id"), f"网关有 {branches} 条出口流，上限 {MAX_BRANCHES}"))


# Task-spec names SpiffWorkflow gives its own start (and end join) of every process: an element with
# such an id replaces it and the process cannot start ("No output task connected").
RESERVED_IDS = ("Start",)


def static_checks(root, report: Report) -> None:
    for process in root.iterfind("bpmn:process", NSMAP):
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            name = _local(node.tag)
            if node.get("id") in RESERVED_IDS or str(node.get("id", "")).endswith(".EndJoin"):
                report.errors.append(Problem(node.get("id"), f"元素标识 {node.get('id')!r} 是引擎保留的名称"
                                                             "，请换一个，例如 StartEvent_1"))
            if name in UNSUPPORTED:
                report.errors.append(Problem(_owner_id(node), f"不支持的 BPMN 元素：{UNSUPPORTED[name]}（{name}）"))
    expressions = [(e, "eval", "条件") for e in root.iterfind(".//bpmn:conditionExpression", NSMAP)]
    expressions += [(e, "exec", "脚本") for e in root.iterfind(".//bpmn:script", NSMAP)]
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        expressions += [(e, "eval", "定时器表达式") for e in root.iterfind(f".//bpmn:{tag}", NSMAP)]
    for element, mode, what in expressions:
        source = (element.text or "").strip()
        owner = _owner_id(element.getparent()) if element.get("id") is None else element.get("id")
        if not source:
            report.errors.append(Problem(owner, f"{what}为空"))
            continue
        language = element.get("language") or ""
        if language and language.lower() != "python":
            report.errors.append(Problem(owner, f"{what}的语言（language）应为 python，实为 {language!r}：引擎按 Python 执行"))
            continue
        if "${" in source or "#{" in source:
            report.errors.append(Problem(owner, f"{what}是 Camunda 的 JUEL 表达式（{source!r}）：信易批的{what}写 Python，"
                                                "去掉 ${ }，例如 tier == \"red\""))
            continue
        try:
            check_source(source, mode)
        except SyntaxError as e:
            report.errors.append(Problem(owner, f"{what}不是合法的 Python：{e.msg}（{source!r}）"))
        except UnsafeScript as e:
            report.errors.append(Problem(owner, f"{what}不安全，已拒绝：{e}（{source!r}）"))


def script_format_checks(root, report: Report) -> None:
    """Script tasks run as Python whatever they say: say so when the diagram claims otherwise."""
    for task in root.iterfind(".//bpmn:scriptTask", NSMAP):
        fmt = task.get("scriptFormat")
        if fmt is None or not fmt.strip():
            report.warnings.append(Problem(task.get("id"), "脚本任务没有脚本格式（scriptFormat）：引擎按 Python 执行，"
                                                           "请填写 python（Camunda Modeler 也要求填写）"))
        elif fmt.strip().lower() != "python":
            report.errors.append(Problem(task.get("id"), f"脚本格式（scriptFormat）应为 python，实为 {fmt!r}：引擎按 Python 执行脚本"))


def spec_checks(spec, report: Report) -> None:
    # everything the parser picked up that the engine will evaluate (multi-instance cardinalities,
    # completion conditions …), checked as the spec is stored and loaded
    try:
        serialized = spec_to_json(*report.spec_pair)
    except Exception as e:  # noqa: BLE001 — the serializer has no error type of its own
        report.errors.append(Problem(None, f"流程中有引擎暂不能保存的元素，无法发布（{type(e).__name__}: {e}）"))
        return
    for element_id, message in expression_problems(serialized):
        if not any(p.element_id == element_id for p in report.errors):
            report.errors.append(Problem(element_id, message))
    for task_spec in spec.task_specs.values():
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        if isinstance(task_spec, (ExclusiveGateway, InclusiveGateway)) and getattr(task_spec, "default_task_spec", None) is None:
            report.warnings.append(Problem(bpmn_id, "网关没有默认流：条件须覆盖每个信用等级（见试运行）"))
        if isinstance(task_spec, ExclusiveGateway):
            conditional = [c for c, _ in task_spec.cond_task_specs if c is not None]
            if len(conditional) > 1:
                report.warnings.append(Problem(bpmn_id, f"排他网关有 {len(conditional)} 个条件：SpiffWorkflow 按目标元素"
                                                        "在图中从上到下的位置依次判断，取第一个为真的条件；"
                                                        "请保证条件互斥，或拆成串联的网关"))
        if not task_spec.manual:
            continue
        if task_spec.lane not in LANES:
            report.errors.append(Problem(bpmn_id, f"用户任务“{task_spec.bpmn_name or bpmn_id}”不在已知泳道中"
                                                  f"（泳道名应为 {'/'.join(LANES)}，实为 {task_spec.lane!r}）"))
        try:
            fields = forms.fields_of(task_spec)
        except ValueError as e:
            report.errors.append(Problem(bpmn_id, f"表单（camunda:formData）有误：{e}"))
            continue
        if task_spec.lane == "applicant":
            for field in fields:
                if field.id in forms.STAFF_ONLY_FIELD_IDS:
                    report.errors.append(Problem(bpmn_id, f"申请人泳道的表单不能有字段 {field.id!r}：申请人不能自己决定办理结果"))


def _happy_values(task_spec) -> dict:
    values = {}
    for field in forms.fields_of(task_spec):
        if field.type == "enum":
            ids = [k for k, _ in field.options]
            values[field.id] = next((k for k in ("accepted", "approved") if k in ids), ids[0])
        elif field.type == "boolean":
            values[field.id] = True
        elif field.type == "long":
            values[field.id] = int(field.min if field.min is not None else 1)
        elif field.type == "date":
            values[field.id] = "2026-01-05"
        else:
            values[field.id] = "试运行" * max(1, (field.minlength or 0) // 3 + 1)
    return values


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_TRADES = ("餐饮管理", "建筑工程", "商贸", "科技", "物流", "文化传媒", "医疗器械", "农业开发")
_CITIES = ("海口", "杭州", "扬州", "深圳", "苏州", "厦门")


def _applicant(rng: random.Random, kind: str) -> dict:
    """A plausible applicant with random code and name (nothing a script could recognise)."""
    if kind == "person":
        code = "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789X")
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
    else:
        code = "91" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(16))
        name = f"{rng.choice(_CITIES)}{rng.choice(_TRADES)}{rng.choice(('有限公司', '股份有限公司', '合伙企业'))}"
    return {"code": code, "name": name, "kind": kind}


def _matter(rng: random.Random, matter: dict | None) -> dict:
    """The matter's facts varied where they may vary between applications (major project)."""
    if matter is not None:
        return dict(matter, major_project=rng.random() < 0.5)
    legal = rng.randint(1, 60)
    return {"code": f"{rng.randint(10**11, 10**12 - 1)}", "name": "试运行事项", "legal_days": legal,
            "promised_days": rng.randint(1, legal), "major_project": rng.random() < 0.5,
            "negative_list": rng.random() < 0.5, "supplement_days": rng.randint(1, 20)}


def sample_data(tier, rank: int, has_record: bool, blacklisted: bool, matter: dict | None = None,
                rng: random.Random | None = None, kind: str = "organisation") -> dict:
    rng = rng or random.Random(secrets.randbits(64))
    return {
        "tier": tier, "tier_rank": rank, "blacklisted": blacklisted,
        "has_dishonesty_record": has_record,
        "applicant": _applicant(rng, kind),
        "matter": matter or {"code": "DRY-RUN", "name": "试运行事项", "legal_days": 20, "promised_days": 10,
                             "major_project": False, "negative_list": False, "supplement_days": 5},
    }


def dry_run(spec_pair, tier_code: str, tier_label: str, rank: int, scheme_ranks: dict,
            has_record: bool, matter: dict | None = None, data: dict | None = None, variant: str = "") -> DryRun:
    run = DryRun(tier=tier_code, tier_label=tier_label, has_record=has_record, variant=variant)
    blacklisted = has_record and rank == 0
    try:
        # Timers are set from the real clock, so deadlines lie ahead and the run takes the path where
        # every human task is done in time.
        workflow = runtime.new_workflow(spec_pair, data or sample_data(tier_code, rank, has_record, blacklisted, matter),
                                        scheme_ranks, rank)
        runtime.run_engine(workflow)
        for _ in range(MAX_STEPS):
            ready = runtime.ready_human_tasks(workflow)
            if not ready:
                break
            task = ready[0]
            run.human_tasks.append(f"{task.task_spec.bpmn_name or task.task_spec.bpmn_id}"
                                   f"［{LANES.get(task.task_spec.lane, task.task_spec.lane)}］")
            runtime.complete_human_task(workflow, task, _happy_values(task.task_spec))
        else:
            run.error = f"超过 {MAX_STEPS} 个人工环节仍未结束（可能存在死循环）"
    except runtime.EngineError as e:
        run.error, run.error_element = str(e), e.element_id
        return run
    except SpiffWorkflowException as e:  # raised outside a task run (building the workflow)
        task_spec = getattr(e, "task_spec", None)
        run.error, run.error_element = f"流程无法运行：{e}", getattr(task_spec, "bpmn_id", None)
        return run
    except ValueError as e:
        run.error = str(e)
        return run
    data = workflow.last_task.data if workflow.last_task else {}
    run.path = data.get("path")
    run.decision = data.get("decision")
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id:
            run.visited.append(bpmn_id)
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if type(t.task_spec).__name__ == "EndEvent"]
    if ends:
        run.end = ends[-1].task_spec.bpmn_name or ends[-1].task_spec.bpmn_id
    elif not workflow.completed:
        waiting = runtime.current_element_ids(workflow)
        run.end = f"等待中（{', '.join(waiting)}）"
    return run


def _judge(report: Report, run: DryRun) -> None:
    who = f"{run.tier_label}（{run.tier}）{'有失信记录时' if run.has_record else ''}" + \
        (f"［{run.variant}］" if run.variant else "")
    if run.error:
        report.errors.append(Problem(run.error_element, f"{who}试运行失败：{run.error}"))
    elif run.decision is None and "等待中" not in (run.end or ""):
        report.errors.append(Problem(None, f"{who}到达结束事件“{run.end}”时未设置 decision"))
    elif run.decision is not None and run.decision not in DECISIONS:
        report.errors.append(Problem(None, f"decision 只能是 {'/'.join(DECISIONS)}，实为 {run.decision!r}"))
    elif run.path is not None and run.path not in PATHS and not run.variant:
        report.warnings.append(Problem(None, f"path 取值 {run.path!r} 不在 {'/'.join(PATHS)} 之中"))


def check_xml(xml: str | bytes, tiers: list[tuple[str, str, int]], filename: str | None = None,
              matter: dict | None = None, seed: int | None = None) -> Report:
    """The full report for a diagram, computed in this process: `tiers` are (code, label, rank)
    of the scheme to dry-run. Use `validate_xml`, which runs this in an isolated process."""
    report = Report()
    try:
        root = parse_xml(xml)
        process = root.find("bpmn:process", NSMAP)
        report.name = process.get("name", "") if process is not None else ""
        size_checks(root, report)
        static_checks(root, report)
        script_format_checks(root, report)
        if report.errors:
            return report
        process_id, spec, subprocesses = parse_process(root, filename)
    except DiagramError as e:
        report.errors.append(Problem(e.element_id, e.problem))
        return report
    report.process_id = process_id
    report.spec_pair = (spec, subprocesses)
    spec_checks(spec, report)
    if report.errors:
        return report
    ranks = {code: rank for code, _label, rank in tiers}
    rng = random.Random(secrets.randbits(64) if seed is None else seed)
    for has_record in (False, True):
        for code, label, rank in tiers:
            run = dry_run(report.spec_pair, code, label, rank, ranks, has_record, matter)
            report.runs.append(run)
            _judge(report, run)
            if run.error and any(mark in run.error for mark in RESOURCE_MARKS):
                # a loop or a limit is the diagram's, not the tier's: one report is enough
                return report
            if run.error:
                continue
            # the same tier again with other applicants and facts: the diagram must hold for them too
            for n in range(VARIANTS):
                kind = ("person", "organisation")[n % 2]
                data = sample_data(code, rank, has_record, has_record and rank == 0, _matter(rng, matter), rng, kind)
                facts = data["matter"]
                variant = (f"{'自然人' if kind == 'person' else '法人'}、"
                           f"{'重大项目' if facts.get('major_project') else '非重大项目'}")
                extra = dry_run(report.spec_pair, code, label, rank, ranks, has_record, data=data, variant=variant)
                report.explored.append(extra)
                _judge(report, extra)
    return report


def _check_isolated(xml, tiers, filename, matter, database_url, moment):
    """`check_xml` in the isolated child: its own database connection, the parent's clock."""
    if database_url:
        from plugin import db
        db.bind(database_url)
    with frozen_clock(_dt.datetime.fromisoformat(moment)):
        report = check_xml(xml, tiers, filename, matter)
    data = report.as_dict()
    if report.ok and report.spec_pair is not None:
        data["spec_json"] = spec_to_json(*report.spec_pair)
    return data


def validate_xml(xml: str | bytes, scheme=None, filename: str | None = None,
                 matter: dict | None = None) -> Report:
    """The full report for a diagram; `scheme` is the tier scheme to dry-run (the active one).

    The checks and dry runs execute in a separate process with CPU, memory and wall-clock limits;
    a diagram that exceeds them gets an error naming the limit (and the element it was at)."""
    if scheme is None:
        from plugin.credit.tiers import active_scheme
        scheme = active_scheme()
    tiers = [(t.code, t.label, t.rank) for t in scheme.ordered_tiers()]
    from plugin.db import database
    url = getattr(database.obj, "xinyipi_url", None) if database.obj is not None else None
    try:
        data = isolation.run(_check_isolated, xml, tiers, filename, matter, url, business_now().isoformat())
    except isolation.Isolated as e:
        return Report(errors=[Problem(e.element_id, str(e))])
    report = Report.from_dict(data)
    if report.ok and data.get("spec_json"):
        report.spec_pair = spec_from_json(data["spec_json"])
    return report
