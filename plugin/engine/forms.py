"""User-task forms: the `camunda:formData` fields of a task, described and validated.

`describe(task_spec)` gives the fields as plain dicts (for the portal, the
admin and the API to render); `validate(task_spec, values)` coerces submitted
values to their types and returns one message per bad field, in Chinese.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin.engine.sandbox import SAFE_BUILTIN_NAMES
from plugin.engine.scripting import PROVIDED

SUPPORTED_TYPES = ("string", "long", "boolean", "date", "enum")
# A form field may not shadow what the host provides or a function a diagram calls, nor set the
# handling path or a breach (set by the diagram's own scripts). `decision` is a staff form's to set.
RESERVED_FIELD_IDS = PROVIDED | frozenset(SAFE_BUILTIN_NAMES) | {"path", "breach", "may", "policy"}
# Fields only staff lanes may carry: an applicant's form must not decide their own case.
STAFF_ONLY_FIELD_IDS = frozenset({"decision"})
SUPPORTED_CONSTRAINTS = ("required", "minlength", "maxlength", "min", "max", "readonly")
TRUE_VALUES = {"true", "1", "on", "yes", "是", True, 1}
FALSE_VALUES = {"false", "0", "off", "no", "否", "", False, 0, None}


class FormErrors(ValueError):
    """Submitted values that do not fit the form: `errors` maps field id → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: str
    default: object
    required: bool
    readonly: bool
    minlength: int | None
    maxlength: int | None
    min: float | None
    max: float | None
    options: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["options"] = [{"id": k, "name": v} for k, v in self.options]
        return d


def _number(value, field_id, name):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"字段 {field_id} 的约束 {name} 应为数字，实为 {value!r}") from None


def fields_of(task_spec) -> list[Field]:
    """The form fields of a user task (empty when it has no form). Raises ValueError on a bad form."""
    form = getattr(task_spec, "form", None)
    if form is None:
        return []
    out = []
    for f in form.fields:
        if not f.id or not f.id.isidentifier() or f.id.startswith("_"):
            raise ValueError(f"表单字段标识 {f.id!r} 必须是不以下划线开头的合法标识符")
        if f.id in RESERVED_FIELD_IDS:
            raise ValueError(f"表单字段标识 {f.id!r} 与流程契约中的名称相同（{'、'.join(sorted(RESERVED_FIELD_IDS))}"
                             "由系统提供或由流程自己设置），表单不能覆盖它，请换一个标识")
        ftype = f.type or "string"
        if ftype not in SUPPORTED_TYPES:
            raise ValueError(f"表单字段 {f.id} 的类型 {ftype!r} 不受支持（支持：{', '.join(SUPPORTED_TYPES)}）")
        rules = {}
        for v in f.validation:
            if v.name not in SUPPORTED_CONSTRAINTS:
                raise ValueError(f"表单字段 {f.id} 的约束 {v.name!r} 不受支持（支持：{', '.join(SUPPORTED_CONSTRAINTS)}）")
            rules[v.name] = v.config
        options = tuple((o.id, o.name) for o in (getattr(f, "options", None) or []))
        if ftype == "enum" and not options:
            raise ValueError(f"枚举字段 {f.id} 没有可选值（camunda:value）")
        out.append(Field(
            id=f.id, label=f.label or f.id, type=ftype, default=f.default_value,
            required=str(rules.get("required", "false")).lower() == "true",
            readonly=str(rules.get("readonly", "false")).lower() == "true",
            minlength=int(_number(rules["minlength"], f.id, "minlength")) if "minlength" in rules else None,
            maxlength=int(_number(rules["maxlength"], f.id, "maxlength")) if "maxlength" in rules else None,
            min=_number(rules["min"], f.id, "min") if "min" in rules else None,
            max=_number(rules["max"], f.id, "max") if "max" in rules else None,
            options=options))
    return out


def form_holder(key: str, fields: list[dict]):
    """Something `fields_of` reads like a user task: a Camunda form built from plain field dicts
    ({"id", "label", "type", "required", "minlength", "maxlength"}), for forms that are not in a
    diagram (the application form of a draft)."""
    from types import SimpleNamespace

    from SpiffWorkflow.camunda.specs.user_task import Form

    def field(spec: dict) -> dict:
        rules = [{"name": "required", "config": "true"}] if spec.get("required") else []
        rules += [{"name": n, "config": str(spec[n])} for n in ("minlength", "maxlength") if spec.get(n) is not None]
        return {"id": spec["id"], "label": spec["label"], "type": spec.get("type", "string"), "default_value": None,
                "properties": [], "validation": rules}
    return SimpleNamespace(form=Form({"key": key, "fields": [field(f) for f in fields]}))


def describe(task_spec) -> list[dict]:
    return [f.as_dict() for f in fields_of(task_spec)]


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce(field: Field, value):
    if field.type == "string":
        return str(value).strip()
    if field.type == "long":
        if isinstance(value, bool):
            raise ValueError("应为整数")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError("应为整数") from None
        return number
    if field.type == "boolean":
        key = value.strip().lower() if isinstance(value, str) else value
        if key in TRUE_VALUES:
            return True
        if key in FALSE_VALUES:
            return False
        raise ValueError("应为“是”或“否”")
    if field.type == "date":
        if isinstance(value, _dt.date):
            return value.isoformat()
        try:
            return _dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("应为日期（YYYY-MM-DD）") from None
    if field.type == "enum":
        ids = [k for k, _ in field.options]
        if str(value) not in ids:
            names = "、".join(f"{v}（{k}）" for k, v in field.options)
            raise ValueError(f"不是可选值之一：{names}")
        return str(value)
    raise ValueError(f"不支持的类型 {field.type}")


def validate(task_spec, values: dict) -> dict:
    """Coerced values for every field of the form, or FormErrors with one message per bad field."""
    values = values or {}
    errors: dict[str, str] = {}
    clean: dict = {}
    fields = fields_of(task_spec)
    known = {f.id for f in fields}
    for key in values:
        if key not in known:
            errors[key] = "表单中没有这个字段"
    for field in fields:
        raw = values.get(field.id)
        if field.readonly:
            if field.default is not None:
                clean[field.id] = _coerce(field, field.default)
            continue
        if _empty(raw) and field.type != "boolean":
            if field.required:
                errors[field.id] = f"“{field.label}”为必填项"
            elif field.default is not None:
                clean[field.id] = _coerce(field, field.default)
            continue
        try:
            value = _coerce(field, raw)
        except ValueError as e:
            errors[field.id] = f"“{field.label}”{e}"
            continue
        if field.type == "boolean" and field.required and value is not True:
            errors[field.id] = f"请勾选“{field.label}”"
            continue
        if field.type == "string":
            if field.minlength is not None and len(value) < field.minlength:
                errors[field.id] = f"“{field.label}”至少 {field.minlength} 个字"
                continue
            if field.maxlength is not None and len(value) > field.maxlength:
                errors[field.id] = f"“{field.label}”最多 {field.maxlength} 个字（现为 {len(value)} 个）"
                continue
        if field.type == "long":
            if field.min is not None and value < field.min:
                errors[field.id] = f"“{field.label}”不能小于 {field.min:g}"
                continue
            if field.max is not None and value > field.max:
                errors[field.id] = f"“{field.label}”不能大于 {field.max:g}"
                continue
        clean[field.id] = value
    if errors:
        raise FormErrors(errors)
    return clean
