"""Demo cases for a newcomer clicking through `make run`: one case at each point of the loop,
made through the real application service (never by writing rows), so every one is a case the
product could have made itself.

- an instant approval (red), a refusal by the negative list (the blacklisted demo subject);
- standard cases waiting for a reviewer (受理) and for an approver (决定), tolerance waiting review;
- notification-commitments signed and approved, with their verification items due for supervisors;
- one inspection draw with a fixed seed, its inspections assigned to the demo supervisors.

Loaded only into a database without cases (`xinyipi seed --demo-cases`): tests and real
deployments start without them.
"""
from __future__ import annotations


from plugin import clock
from plugin.applications import materials, service
from plugin.applications.models import Application
from plugin.catalog.negative_list import is_on_negative_list
from plugin.catalog.models import Matter
from plugin.engine.models import ProcessDefinition

DEMO_SEED = 20261123


def _matter(process_key: str, negative: bool = False) -> Matter | None:
    query = (Matter.select().join(ProcessDefinition, on=(Matter.process == ProcessDefinition.id))
             .where(ProcessDefinition.key == process_key).order_by(Matter.code))
    return next((m for m in query if is_on_negative_list(m) == negative), None)


def _staff(lane: str) -> service.Actor:
    return service.Actor.staff(lane, lane)


def _complete(app, lane: str, values: dict) -> None:
    [task] = [t for t in service.ready_tasks(service.get(app.number)) if t["lane"] == lane]
    if lane == "applicant":
        pending = service.pending_commitment(app, task)
        shown = materials.text_hash(pending[1]) if pending else None
        service.complete_applicant_task(app.number, task["id"], values, service.Actor.applicant(app.subject.code),
                                        shown_sha256=shown)
    else:
        service.complete_task(app.number, task["id"], values, _staff(lane))


def load_demo_cases() -> dict:
    from seeds.loader import demo_subjects
    if Application.select().exists():
        return {"demo cases": "skipped (the database already has cases)"}
    subjects = demo_subjects()
    by_tier = {}
    for code, _name, _kind, scheme, tier, severity in subjects:
        if scheme == "haikou":
            by_tier.setdefault((tier, severity), []).append(code)
    red, orange, blue = by_tier[("red", None)], by_tier[("orange", None)], by_tier[("blue", None)]
    black = by_tier[("black", "严重")]
    made = []

    instant, standard = _matter("instant_approval"), _matter("standard_review")
    commitment, tolerance = _matter("commitment"), _matter("tolerance")
    closed = _matter("standard_review", negative=True) or _matter("instant_approval", negative=True)

    for code in red[:6]:
        made.append(service.apply(instant.code, code))
    if closed is not None:
        made.append(service.apply(closed.code, black[0]))
    made.append(service.apply(standard.code, blue[0]))                       # waits for 受理
    waiting = service.apply(standard.code, blue[1])
    _complete(waiting, "reviewer", {"acceptance": "accepted", "opinion": "材料齐全，予以受理"})
    _complete(waiting, "reviewer", {"recommendation": "approved", "opinion": "符合许可条件"})
    made.append(waiting)                                                      # waits for 决定
    for code in orange[:3]:
        app = service.apply(commitment.code, code)
        _complete(app, "applicant", {"agree": True})                          # approved, verification due
        made.append(app)
    app = service.apply(tolerance.code, orange[3])
    _complete(app, "applicant", {"agree": True})                              # waits for 审查
    made.append(app)

    from plugin.supervision.service import draw
    today = clock.today()
    record = draw(instant.code, today, "admin", seed=DEMO_SEED)
    return {"demo cases": f"{len(made)} cases; inspection draw {record.id} (seed {DEMO_SEED}, "
                          f"{record.drawn_count} of {record.population_count} drawn)"}
