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
end each reaches and which human tasks it meets.
"""
from __future__ import annotations

import dataclasses

from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway, InclusiveGateway
from SpiffWorkflow.util.task import TaskState

from plugin.engine import forms, runtime
from plugin.engine.definitions import NSMAP, DiagramError, parse_process, parse_xml
from plugin.engine.scripting import DECISIONS, PATHS, UnsafeScript, check_source

LANES = {"applicant": "申请人", "reviewer": "审查人员", "approver": "审批负责人", "supervisor": "监管人员"}
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

    def line(self) -> str:
        who = f"{self.tier_label}（{self.tier}）" + ("+失信记录" if self.has_record else "")
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
    spec_pair: tuple | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

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
            out += ["  " + r.line() for r in self.runs]
        out.append("校验通过" if self.ok else f"校验未通过：{len(self.errors)} 个错误")
        return out

    def as_dict(self) -> dict:
        return {"process_id": self.process_id, "name": self.name, "ok": self.ok,
                "errors": [dataclasses.asdict(p) for p in self.errors],
                "warnings": [dataclasses.asdict(p) for p in self.warnings],
                "runs": [dataclasses.asdict(r) | {"line": r.line()} for r in self.runs]}


def _local(tag) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _owner_id(node) -> str | None:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def static_checks(root, report: Report) -> None:
    for process in root.iterfind("bpmn:process", NSMAP):
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            name = _local(node.tag)
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
    for task_spec in spec.task_specs.values():
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        if isinstance(task_spec, (ExclusiveGateway, InclusiveGateway)) and task_spec.default_task_spec is None:
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
            forms.fields_of(task_spec)
        except ValueError as e:
            report.errors.append(Problem(bpmn_id, f"表单（camunda:formData）有误：{e}"))


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


def sample_data(tier, rank: int, has_record: bool, blacklisted: bool, matter: dict | None = None) -> dict:
    return {
        "tier": tier, "tier_rank": rank, "blacklisted": blacklisted,
        "has_dishonesty_record": has_record,
        "applicant": {"code": "91460100MA5TDRYRUN", "name": "试运行主体", "kind": "organisation"},
        "matter": matter or {"code": "DRY-RUN", "name": "试运行事项", "legal_days": 20, "promised_days": 10,
                             "major_project": False, "negative_list": False, "supplement_days": 5},
    }


def dry_run(spec_pair, tier_code: str, tier_label: str, rank: int, scheme_ranks: dict,
            has_record: bool, matter: dict | None = None) -> DryRun:
    run = DryRun(tier=tier_code, tier_label=tier_label, has_record=has_record)
    blacklisted = has_record and rank == 0
    try:
        # Timers are set from the real clock, so deadlines lie ahead and the run takes the path where
        # every human task is done in time.
        workflow = runtime.new_workflow(spec_pair, sample_data(tier_code, rank, has_record, blacklisted, matter),
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
        run.error = str(e)
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


def validate_xml(xml: str | bytes, scheme=None, filename: str | None = None,
                 matter: dict | None = None) -> Report:
    """The full report for a diagram; `scheme` is the tier scheme to dry-run (the active one)."""
    report = Report()
    try:
        root = parse_xml(xml)
        process = root.find("bpmn:process", NSMAP)
        report.name = process.get("name", "") if process is not None else ""
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
    if scheme is None:
        from plugin.credit.tiers import active_scheme
        scheme = active_scheme()
    tiers = scheme.ordered_tiers()
    ranks = {t.code: t.rank for t in tiers}
    for has_record in (False, True):
        for tier in tiers:
            run = dry_run(report.spec_pair, tier.code, tier.label, tier.rank, ranks, has_record, matter)
            report.runs.append(run)
            if run.error:
                report.errors.append(Problem(None, f"{tier.label}（{tier.code}）{'有失信记录时' if has_record else ''}"
                                                   f"试运行失败：{run.error}"))
            elif run.decision is None and "等待中" not in (run.end or ""):
                report.errors.append(Problem(None, f"{tier.label}（{tier.code}）到达结束事件“{run.end}”时未设置 decision"))
            elif run.decision is not None and run.decision not in DECISIONS:
                report.errors.append(Problem(None, f"decision 只能是 {'/'.join(DECISIONS)}，实为 {run.decision!r}"))
            elif run.path is not None and run.path not in PATHS:
                report.warnings.append(Problem(None, f"path 取值 {run.path!r} 不在 {'/'.join(PATHS)} 之中"))
    return report
