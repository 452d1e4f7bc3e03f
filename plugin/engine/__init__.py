"""The engine: SpiffWorkflow runs each matter's diagram.

`definitions` parses safely and caches specs, `scripting` is the environment
diagrams run in, `validate` checks and dry-runs a diagram per tier, `publish`
stores versions, `runtime` (the facade the services use) starts, restores,
steps and saves one case's workflow, and `forms` describes and validates
user-task forms. `spiff` is the one adapter to SpiffWorkflow's undocumented
insides (timers on the business clock, the spec-less case state), checked by
tests/unit/test_spiff_adapter.py against the installed release.
"""
