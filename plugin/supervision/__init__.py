"""Supervision after approval (批后监管): commitment verification, random inspection (双随机), breach.

`models` holds the supervision items and the inspection draws; `service` opens verification items
when a commitment-path case is approved, draws inspections by tier ratio from a recorded seed, and
records results: a failed one is a breach, handled by `plugin.applications.service.revoke`.
"""
