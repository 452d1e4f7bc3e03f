"""Where a case stands: read-only answers for the staff case page and the citizen portal.

The diagram's current and completed steps, the XML of the process version the case runs on,
its human tasks, and its deadline in working days. Nothing here writes; nothing here renders
HTML. Views use these functions instead of touching SpiffWorkflow themselves.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin import clock
from plugin.applications import lifecycle, vocabulary
from plugin.applications.models import ACCEPTED, IN_REVIEW, SUBMITTED, Application, HumanTask
from plugin.calendar import working_days_between
from plugin.engine import runtime
from plugin.engine.models import ProcessDefinition

#: The handling paths' labels are defined in `plugin.applications.vocabulary`; the name stays here
#: for the importers that still read it from `progress` (plugin.credit.archive).
PATHS = vocabulary.PATHS

#: Statuses of a case still waiting for its decision: the promised deadline runs only for these.
AWAITING_DECISION = (SUBMITTED, ACCEPTED, IN_REVIEW)


business_today = clock.today


def local_time(moment: _dt.datetime | None) -> _dt.datetime | None:
    """A stored (naive UTC) timestamp in the business time zone, naive for display."""
    return clock.local(moment).replace(tzinfo=None) if moment is not None else None


def _workflow(app: Application):
    if app.state is None or app.process_id is None:
        return None
    return lifecycle.load_workflow(app)


def _current(workflow) -> list[str]:
    return runtime.current_element_ids(workflow) if workflow is not None else []


def _completed(workflow) -> list[str]:
    return runtime.completed_element_ids(workflow) if workflow is not None else []


def current_element_ids(app: Application) -> list[str]:
    """BPMN ids of the steps the case is at now (ready or waiting); [] once it has ended."""
    return _current(_workflow(app))


def completed_element_ids(app: Application) -> list[str]:
    """BPMN ids of the steps the case has been through, in the order they completed."""
    return _completed(_workflow(app))


def diagram_state(app: Application) -> tuple[list[str], list[str]]:
    """(current ids, completed ids), restoring the workflow once."""
    workflow = _workflow(app)
    current = _current(workflow)
    return current, [i for i in _completed(workflow) if i not in current]


def process_xml(app: Application) -> str | None:
    """The BPMN XML of the process version the case runs on (None for a case without one)."""
    if app.process_id is None:
        return None
    row = (ProcessDefinition.select(ProcessDefinition.xml)
           .where(ProcessDefinition.id == app.process_id).first())
    return row.xml if row is not None else None


def human_tasks(app: Application) -> list[HumanTask]:
    """Every human task the case has had, oldest first (ready, completed and cancelled)."""
    return list(HumanTask.select().where(HumanTask.application == app).order_by(HumanTask.id))


def task_lane(app: Application, task_id: str) -> str | None:
    """The lane (role) of one of the case's human tasks, from the task index."""
    row = (HumanTask.select(HumanTask.lane)
           .where((HumanTask.application == app) & (HumanTask.task_id == task_id)).first())
    return row.lane if row is not None else None


@dataclasses.dataclass(frozen=True)
class Deadline:
    """The promised deadline of a case as of one day."""

    due_date: _dt.date | None
    awaiting: bool            # the case still waits for its decision
    days_left: int | None     # working days from today to the due date (0 on the day itself)
    days_overdue: int | None  # working days past the due date
    days_taken: int | None    # working days from submission to decision, once decided

    @property
    def overdue(self) -> bool:
        return bool(self.days_overdue)


def deadline(app: Application, today: _dt.date | None = None) -> Deadline:
    today = today or business_today()
    awaiting = app.status in AWAITING_DECISION
    left = overdue = taken = None
    if awaiting and app.due_date is not None:
        if app.due_date >= today:
            left = working_days_between(today, app.due_date)
        else:
            overdue = max(1, working_days_between(app.due_date, today))
    if app.decided_at is not None and app.submitted_at is not None:
        taken = working_days_between(local_time(app.submitted_at).date(), local_time(app.decided_at).date())
    return Deadline(app.due_date, awaiting, left, overdue, taken)
